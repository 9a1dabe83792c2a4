package io.alimi.auth;

import java.util.List;
import java.util.Optional;

/**
 * Turns an admin's bearer token into who they are. Thread-safe; never logs or echoes the token.
 */
public interface Identities {

    /** The identity of {@code token}, or empty when the token is unknown, expired, forged or not of this kind. */
    Optional<Identity> resolve(String token);

    /** No token is valid: what a node without any identity source configured answers. */
    Identities NONE = token -> Optional.empty();

    /** The first of {@code sources} that recognises a token decides. */
    static Identities firstOf(List<Identities> sources) {
        List<Identities> copy = List.copyOf(sources);
        return token -> {
            for (Identities source : copy) {
                Optional<Identity> identity = source.resolve(token);
                if (identity.isPresent()) {
                    return identity;
                }
            }
            return Optional.empty();
        };
    }
}
