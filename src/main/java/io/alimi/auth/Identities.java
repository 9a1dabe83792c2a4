package io.alimi.auth;

import java.util.List;
import java.util.Optional;

/**
 * Turns an admin's bearer token into who they are. Thread-safe; never logs or echoes the token.
 */
public interface Identities {

    /**
     * The identity of {@code token}, or empty when the token is unknown, expired, forged or not of this kind.
     *
     * @throws IdentityUnavailableException when it cannot be told right now (a remote source is down)
     */
    Optional<Identity> resolve(String token);

    /** {@code source}, telling {@code observer} the profile of every token it recognises (on the caller's thread). */
    static Identities observed(Identities source, java.util.function.Consumer<Profile> observer) {
        return token -> {
            Optional<Identity> identity = source.resolve(token);
            identity.ifPresent(found -> observer.accept(found.profile()));
            return identity;
        };
    }

    /** No token is valid: what a node without any identity source configured answers. */
    Identities NONE = token -> Optional.empty();

    /**
     * The first of {@code sources} that recognises a token decides. A source that cannot answer right now does
     * not stop the others from being asked; if none recognises the token, that source's outage is reported.
     */
    static Identities firstOf(List<Identities> sources) {
        List<Identities> copy = List.copyOf(sources);
        if (copy.size() == 1) {
            return copy.get(0);
        }
        return token -> {
            IdentityUnavailableException unavailable = null;
            for (Identities source : copy) {
                try {
                    Optional<Identity> identity = source.resolve(token);
                    if (identity.isPresent()) {
                        return identity;
                    }
                } catch (IdentityUnavailableException e) {
                    unavailable = e;
                }
            }
            if (unavailable != null) {
                throw unavailable;
            }
            return Optional.empty();
        };
    }
}
