package io.alimi.auth;

import java.util.Optional;

/**
 * Turns an admin's bearer token into their profile. Thread-safe; never logs or echoes the token.
 */
public interface Identities {

    /** The profile of {@code token}, or empty when the token is unknown, expired or forged. */
    Optional<Profile> resolve(String token);
}
