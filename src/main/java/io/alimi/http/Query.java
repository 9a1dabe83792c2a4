package io.alimi.http;

import io.helidon.common.parameters.Parameters;

import java.util.Optional;

/** Query parameters that are whole numbers in a range, read the same way on every route. */
public final class Query {

    private Query() {
    }

    /**
     * Parameter {@code name} of {@code query}: {@code fallback} when absent or empty, else a whole number from
     * {@code min} to {@code max}.
     *
     * @throws IllegalArgumentException naming the parameter and its range (answer 400 with it)
     */
    public static int integer(Parameters query, String name, int fallback, int min, int max) {
        return parsed(query, name, fallback, min, max, "a whole number");
    }

    /** As {@link #integer}, a number of seconds (and said so when it is not one). */
    public static int seconds(Parameters query, String name, int fallback, int min, int max) {
        return parsed(query, name, fallback, min, max, "a whole number of seconds");
    }

    private static int parsed(Parameters query, String name, int fallback, int min, int max, String what) {
        Optional<String> text = query.first(name).asOptional();
        if (text.isEmpty() || text.get().isEmpty()) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(text.get());
            if (value >= min && value <= max) {
                return value;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(name + ": must be " + what + " from " + min + " to " + max);
    }
}
