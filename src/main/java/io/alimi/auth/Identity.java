package io.alimi.auth;

import java.time.Instant;
import java.util.Optional;

/**
 * An authenticated admin: who they are and until when the credential that proved it holds.
 *
 * @param profile   the admin
 * @param expiresAt when the credential expires (a JWT's {@code exp}); empty for credentials without expiry
 */
public record Identity(Profile profile, Optional<Instant> expiresAt) {

    public static Identity of(Profile profile) {
        return new Identity(profile, Optional.empty());
    }
}
