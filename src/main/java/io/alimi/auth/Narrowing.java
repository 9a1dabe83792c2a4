package io.alimi.auth;

import io.alimi.event.Scope;

import java.util.LinkedHashSet;
import java.util.Set;

/** A client's {@code scopes=a,b}: a subset of what the admin is entitled to, never more. */
public final class Narrowing {

    /** A scope asked for that the admin may not follow (403); the message names it. */
    public static final class NotEntitled extends Exception {
        public NotEntitled(String message) {
            super(message, null, false, false);
        }
    }

    private Narrowing() {
    }

    /**
     * The scopes asked for, in the order given, or all of {@code entitled} when {@code text} is empty.
     *
     * @throws IllegalArgumentException when an item is not a scope (400), prefixed "scopes: "
     * @throws NotEntitled              when an item is not one of {@code entitled}
     */
    public static Set<Scope> of(Set<Scope> entitled, String text) throws NotEntitled {
        if (text == null || text.isBlank()) {
            return entitled;
        }
        Set<Scope> asked = new LinkedHashSet<>();
        for (String item : text.split(",")) {
            Scope scope;
            try {
                scope = Scope.parse(item.strip());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("scopes: " + e.getMessage());
            }
            if (!entitled.contains(scope)) {
                throw new NotEntitled("scope " + scope + " is not one of this admin's scopes");
            }
            asked.add(scope);
        }
        return asked;
    }
}
