package io.alimi.auth;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * An authenticated admin: who they are, until when the credential that proved it holds, and, for credentials
 * that can be revoked before they expire, how to check again.
 *
 * @param profile   the admin
 * @param expiresAt when the credential expires (a JWT's {@code exp}); empty for credentials without expiry
 * @param recheck   for revocable credentials (introspected tokens): how often a live connection must check the
 *                  credential again, and how
 */
public record Identity(Profile profile, Optional<Instant> expiresAt, Optional<Recheck> recheck) {

    public Identity(Profile profile, Optional<Instant> expiresAt) {
        this(profile, expiresAt, Optional.empty());
    }

    public static Identity of(Profile profile) {
        return new Identity(profile, Optional.empty(), Optional.empty());
    }

    /**
     * Checking a credential again.
     *
     * @param every   how often
     * @param current the profile the credential gives now, empty when it no longer holds; throws
     *                {@link IdentityUnavailableException} when that cannot be told right now
     */
    public record Recheck(Duration every, Current current) {
    }

    /** What a credential stands for now. */
    @FunctionalInterface
    public interface Current {
        Optional<Identity> identity();
    }
}
