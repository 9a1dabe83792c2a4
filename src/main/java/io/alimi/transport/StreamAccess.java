package io.alimi.transport;

import io.alimi.api.Problem;
import io.alimi.auth.Identities;
import io.alimi.auth.Identity;
import io.alimi.event.Cursor;
import io.alimi.event.InvalidEventException;
import io.alimi.event.Scope;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Who may open a stream on which scopes, from where: the same rules for SSE, WebSocket and long-poll.
 *
 * <p>The admin's token gives the scopes they are entitled to; {@code scopes} may narrow them, never widen (403
 * naming the scope); a cursor may only name scopes the admin is entitled to (403 otherwise: a cursor is opaque,
 * not a capability).
 */
final class StreamAccess {

    /** A client's request to stream, checked. */
    record Grant(Identity identity, List<Scope> scopes, Optional<Cursor> cursor) {
    }

    /** A refused request, with the problem to answer. */
    static final class Refused extends Exception {
        private final transient Problem problem;

        Refused(Problem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }

        Problem problem() {
            return problem;
        }
    }

    private final Identities identities;

    StreamAccess(Identities identities) {
        this.identities = identities;
    }

    /**
     * @param token  the bearer token, from the Authorization header or the access_token parameter
     * @param scopes the {@code scopes} parameter: comma-separated, empty for all entitled scopes
     * @param cursor the cursor to resume from, if any
     */
    Grant check(Optional<String> token, Optional<String> scopes, Optional<String> cursor) throws Refused {
        if (token.isEmpty() || token.get().isBlank()) {
            throw new Refused(Problem.unauthorized("missing credentials: send Authorization: Bearer <token> or access_token"));
        }
        Identity identity = identities.resolve(token.get())
                .orElseThrow(() -> new Refused(Problem.unauthorized("the admin token is not valid")));
        Set<Scope> entitled = identity.profile().scopes();
        List<Scope> followed = new ArrayList<>(entitled);
        if (scopes.isPresent() && !scopes.get().isBlank()) {
            Set<Scope> asked = new LinkedHashSet<>();
            for (String item : scopes.get().split(",")) {
                Scope scope;
                try {
                    scope = Scope.parse(item.strip());
                } catch (IllegalArgumentException e) {
                    throw new Refused(Problem.badRequest("scopes: " + e.getMessage()));
                }
                if (!entitled.contains(scope)) {
                    throw new Refused(Problem.forbidden("scope " + scope + " is not one of this admin's scopes"));
                }
                asked.add(scope);
            }
            followed = new ArrayList<>(asked);
        }
        Optional<Cursor> resume = Optional.empty();
        if (cursor.isPresent() && !cursor.get().isEmpty()) {
            try {
                resume = Optional.of(Cursor.decode(cursor.get()));
            } catch (InvalidEventException e) {
                throw new Refused(Problem.badRequest(e.getMessage()));
            }
            for (Cursor.Position position : resume.get().positions()) {
                if (!entitled.contains(position.scope())) {
                    throw new Refused(Problem.forbidden("the cursor names scope " + position.scope()
                            + ", which is not one of this admin's scopes"));
                }
            }
        }
        return new Grant(identity, List.copyOf(followed), resume);
    }
}
