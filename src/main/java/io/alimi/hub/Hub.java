package io.alimi.hub;

import io.alimi.event.Scope;
import io.alimi.timeline.StreamId;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node's fan-out: which local sessions follow which scope, fed by one {@link Tailer}.
 *
 * <p>Delivering an event costs one map lookup and one non-blocking offer per follower, on the tailer's thread; a
 * full follower is ended, never waited for. Redis sees one reader per node however many sessions there are.
 */
final class Hub {

    private final Map<Scope, Followers> followers = new ConcurrentHashMap<>();
    private Tailer tailer;

    void tailer(Tailer tailer) {
        this.tailer = tailer;
    }

    /**
     * Adds a session to its scopes. A scope nobody followed yet starts being tailed from {@code tailFrom} (the end
     * of its stream as the session saw it), so nothing appended after that is missed.
     */
    void subscribe(Session session, Map<Scope, StreamId> tailFrom) {
        Map<Scope, StreamId> first = new java.util.HashMap<>();
        for (Scope scope : session.scopes()) {
            followers.compute(scope, (key, current) -> {
                if (current == null) {
                    first.put(key, tailFrom.getOrDefault(key, StreamId.ZERO));
                    return new Followers(session);
                }
                current.add(session);
                return current;
            });
        }
        // Once this session follows them, the scopes cannot be dropped by another's leaving: telling the tailer
        // after the loop, all together, is as safe as one by one.
        if (!first.isEmpty()) {
            tailer.follow(first);
        }
    }

    /** How far the tailer has read {@code scope}'s stream, or null (see {@link Tailer#readThrough}). */
    StreamId readThrough(Scope scope) {
        return tailer.readThrough(scope);
    }

    /** How far the tailer has read the stream of {@code scope} (see {@link Tailer.Progress}). */
    Tailer.Progress progressOf(Scope scope) {
        return tailer.progressOf(scope);
    }

    void unsubscribe(Session session) {
        for (Scope scope : session.scopes()) {
            followers.computeIfPresent(scope, (key, current) -> {
                if (current.remove(session)) {
                    tailer.unfollow(key);
                    return null;
                }
                return current;
            });
        }
    }

    /** Called by the tailer for each entry read, in stream order. */
    void deliver(LiveEvent event) {
        Followers current = followers.get(event.scope());
        if (current == null) {
            return;
        }
        for (Session session : current.sessions) {
            session.offer(event);
        }
    }

    int scopes() {
        return followers.size();
    }

    /** Copy-on-write: the tailer iterates a stable array while sessions come and go. */
    private static final class Followers {
        private volatile Session[] sessions;

        Followers(Session first) {
            sessions = new Session[] {first};
        }

        synchronized void add(Session session) {
            Session[] grown = Arrays.copyOf(sessions, sessions.length + 1);
            grown[sessions.length] = session;
            sessions = grown;
        }

        /** Removes the session; true when none is left. */
        synchronized boolean remove(Session session) {
            Session[] now = sessions;
            for (int i = 0; i < now.length; i++) {
                if (now[i] == session) {
                    Session[] shrunk = new Session[now.length - 1];
                    System.arraycopy(now, 0, shrunk, 0, i);
                    System.arraycopy(now, i + 1, shrunk, i, now.length - i - 1);
                    sessions = shrunk;
                    break;
                }
            }
            return sessions.length == 0;
        }
    }
}
