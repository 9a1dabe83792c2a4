package io.alimi.auth;

import java.util.Locale;
import java.util.Optional;

/** The token of an {@code Authorization: Bearer <token>} header. */
public final class BearerToken {

    private static final String SCHEME = "bearer ";

    private BearerToken() {
    }

    public static Optional<String> from(Optional<String> authorization) {
        return authorization
                .filter(value -> value.length() > SCHEME.length()
                        && value.substring(0, SCHEME.length()).toLowerCase(Locale.ROOT).equals(SCHEME))
                .map(value -> value.substring(SCHEME.length()).strip())
                .filter(token -> !token.isEmpty());
    }
}
