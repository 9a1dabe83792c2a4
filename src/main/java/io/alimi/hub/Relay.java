package io.alimi.hub;

import io.alimi.inbox.PreferenceStore;
import io.alimi.inbox.Preferences;
import io.alimi.auth.Identity;
import io.alimi.auth.IdentityUnavailableException;
import io.alimi.event.Scope;
import io.alimi.observe.Check;
import io.alimi.timeline.Keys;
import io.alimi.timeline.ReadState;
import io.alimi.timeline.Timeline;
import io.alimi.timeline.RedisLink;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The live side of a node: opens sessions for the transports, feeds them from one tailer, and drains them on
 * shutdown (each client is told to reconnect elsewhere, with its cursor, before the node stops).
 */
public final class Relay implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Relay.class.getName());
    /** A session told to end that is still writing after this is stuck on a client that stopped reading. */
    private static final Duration STUCK_WRITER = Duration.ofSeconds(2);
    /** How often waits are checked for their deadline (heartbeats, lifetimes, long-poll waits). */
    static final Duration TICK = Duration.ofMillis(50);

    private final Timeline timeline;
    private final RelaySettings settings;
    /**
     * Replay pieces being read and handed out at once, node-wide: a wave of far-behind resumes is CPU work that
     * virtual threads do not share by time, so without a bound it keeps every carrier thread busy and a publish
     * request waits behind hundreds of replays.
     */
    private final java.util.concurrent.Semaphore replays;
    private final Hub hub = new Hub();
    private final Tailer tailer;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final Map<Session, Recheck> rechecks = new ConcurrentHashMap<>();
    /** Sessions that asked for unread-count updates, by admin number, with the scopes the count is over. */
    private final Map<String, Map<Session, Set<Scope>>> unreadFollowers = new ConcurrentHashMap<>();
    /** Open sessions by admin number: they apply the admin's preferences. */
    private final Map<String, Set<Session>> preferenceFollowers = new ConcurrentHashMap<>();
    private final PreferenceStore preferences;
    private final ReadState reads;
    private final LongAdder deliveries = new LongAdder();
    private final LongAdder liveWrites = new LongAdder();
    private final LongAdder gaps = new LongAdder();
    private final LongAdder slowConsumers = new LongAdder();
    private final io.alimi.observe.Histogram deliveryLatency = new io.alimi.observe.Histogram();
    private final Thread watchdog;
    private volatile boolean draining;
    private volatile boolean closed;

    /** Thrown by {@link #open} while the node drains: the client should connect elsewhere. */
    public static final class Draining extends Exception {
        Draining() {
            super("this node is shutting down", null, false, false);
        }
    }

    /**
     * @param tailConnection a connection for the tailer alone (its XREAD blocks it)
     * @param control        a shared connection, used to interrupt the tailer's XREAD when it must re-arm
     */
    public Relay(Timeline timeline, Keys keys, RedisLink tailConnection,
                 RedisLink control, RelaySettings settings, ReadState reads, PreferenceStore preferences) {
        this.timeline = timeline;
        this.preferences = preferences;
        this.reads = reads;
        this.settings = settings;
        this.replays = new java.util.concurrent.Semaphore(settings.concurrentReplays(), true);
        this.tailer = new Tailer(hub, keys, tailConnection, control, settings);
        hub.tailer(tailer);
        tailer.start();
        this.watchdog = Thread.ofVirtual().name("alimi-relay-ticker").start(this::watch);
    }

    /**
     * A new session over {@code scopes}, which the caller has checked the identity is entitled to. It ends by
     * itself at its lifetime (jittered), or earlier when the credential expires.
     */
    public Session open(Identity identity, List<Scope> scopes) throws Draining {
        if (draining) {
            throw new Draining();
        }
        long lifetime = (long) (settings.maxLifetime().toNanos()
                * (1 - settings.lifetimeJitter() * ThreadLocalRandom.current().nextDouble()));
        long endsAt = System.nanoTime() + lifetime;
        Session.End end = Session.End.LIFETIME;
        if (identity.expiresAt().isPresent()) {
            long untilExpiry = Duration.between(Instant.now(), identity.expiresAt().get()).toNanos();
            if (untilExpiry < lifetime) {
                endsAt = System.nanoTime() + Math.max(0, untilExpiry);
                end = Session.End.REAUTH;
            }
        }
        Session session = new Session(this, scopes, endsAt, end);
        sessions.add(session);
        identity.recheck().ifPresent(recheck -> rechecks.put(session, new Recheck(session, recheck, scopes)));
        if (draining) {
            session.end(Session.End.DRAINING);
        }
        return session;
    }

    /**
     * Applies the admin's preferences to {@code session}, now and whenever they change (on any node: see
     * {@link #preferencesChanged}). Call before {@link Session#join}, so that the replay applies them too.
     *
     * @throws java.util.concurrent.CompletionException when Redis cannot be reached
     */
    public void followPreferences(Session session, String adminNo) {
        session.preferencesOf = adminNo;
        preferenceFollowers.computeIfAbsent(adminNo, admin -> ConcurrentHashMap.newKeySet()).add(session);
        session.preferences(preferences.of(adminNo));
    }

    /**
     * An admin's preferences changed: their sessions on this node apply the new ones from their next event, and
     * those that show an unread count get it worked out again.
     */
    public void preferencesChanged(String adminNo) {
        Set<Session> followers = preferenceFollowers.get(adminNo);
        if (followers != null && !followers.isEmpty()) {
            Preferences now = preferences.of(adminNo);
            for (Session session : followers) {
                session.preferences(now);
            }
        }
        readChanged(adminNo);
    }

    /**
     * Sends {@code session} the admin's unread count over {@code scopes} now, and again whenever their read state
     * changes (on any node: see {@link #readChanged}).
     *
     * @throws java.util.concurrent.CompletionException when Redis cannot be reached for the first count
     */
    public void followUnread(Session session, String adminNo, Set<Scope> scopes) {
        session.unreadOf = adminNo;
        unreadFollowers.computeIfAbsent(adminNo, admin -> new ConcurrentHashMap<>()).put(session, Set.copyOf(scopes));
        ReadState.Unread unread = reads.unread(adminNo, scopes, preferences.of(adminNo).inInbox(Set.copyOf(scopes)));
        session.unread(unread.count(), unread.capped());
    }

    /**
     * An admin's read state changed: their sessions on this node that follow unread counts get the new count, worked
     * out once per set of scopes, off the caller's thread (the caller is Redis's Pub/Sub listener).
     */
    public void readChanged(String adminNo) {
        Map<Session, Set<Scope>> followers = unreadFollowers.get(adminNo);
        if (followers == null || followers.isEmpty()) {
            return;
        }
        Thread.ofVirtual().name("alimi-unread").start(() -> {
            Map<Set<Scope>, ReadState.Unread> counted = new java.util.HashMap<>();
            for (Map.Entry<Session, Set<Scope>> follower : followers.entrySet()) {
                try {
                    ReadState.Unread unread = counted.computeIfAbsent(follower.getValue(),
                            scopes -> reads.unread(adminNo, scopes, preferences.of(adminNo).inInbox(scopes)));
                    follower.getKey().unread(unread.count(), unread.capped());
                } catch (RuntimeException e) {
                    LOG.log(Level.FINE, "an unread count could not be worked out", e);
                    return;
                }
            }
        });
    }

    /** A reconnect delay for one client: the base plus random jitter, so clients do not come back together. */
    public long retryMillis() {
        return settings.retry().toMillis() + ThreadLocalRandom.current().nextLong(settings.retryJitter().toMillis() + 1);
    }

    /**
     * Stops taking sessions, tells every client to reconnect elsewhere, and waits (up to the drain timeout) for
     * them to go; any still writing after that are cut off.
     */
    public void drain() {
        draining = true;
        int count = sessions.size();
        for (Session session : sessions) {
            session.end(Session.End.DRAINING);
        }
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        while (!sessions.isEmpty() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        for (Session session : sessions) {
            session.interruptWriter();
        }
        if (count > 0) {
            LOG.info(() -> "drained " + (count - sessions.size()) + " of " + count + " live connections");
        }
    }

    public ReadState reads() {
        return reads;
    }

    /** Permits to read and hand out one replay piece (see {@link #replays}). */
    java.util.concurrent.Semaphore replays() {
        return replays;
    }

    public RelaySettings settings() {
        return settings;
    }

    Timeline timeline() {
        return timeline;
    }

    Hub hub() {
        return hub;
    }

    void forget(Session session) {
        sessions.remove(session);
        rechecks.remove(session);
        if (session.preferencesOf != null) {
            preferenceFollowers.computeIfPresent(session.preferencesOf, (admin, followers) -> {
                followers.remove(session);
                return followers.isEmpty() ? null : followers;
            });
        }
        if (session.unreadOf != null) {
            unreadFollowers.computeIfPresent(session.unreadOf, (admin, followers) -> {
                followers.remove(session);
                return followers.isEmpty() ? null : followers;
            });
        }
    }

    void countDeliveries(int n) {
        if (n > 0) {
            deliveries.add(n);
        }
    }

    /** One batch of live items handed to a connection's writer, which writes it at once (one write, one flush). */
    void countLiveWrite() {
        liveWrites.increment();
    }

    void countGaps(int n) {
        if (n > 0) {
            gaps.add(n);
        }
    }

    /** Publish (the entry's Redis time) to hand-out, for each live event handed to a connection. */
    void recordDelivery(long appendedAtMillis, long nowMillis) {
        deliveryLatency.record(nowMillis - appendedAtMillis);
    }

    public io.alimi.observe.Histogram deliveryLatency() {
        return deliveryLatency;
    }

    void countSlowConsumer() {
        slowConsumers.increment();
    }

    /** Counters since start. */
    public record Stats(int sessions, int streams, long deliveries, long liveWrites, long gaps, long slowConsumers,
                        long tailerReads) {
    }

    public Stats stats() {
        return new Stats(sessions.size(), hub.scopes(), deliveries.sum(), liveWrites.sum(), gaps.sum(), slowConsumers.sum(),
                tailer.reads());
    }

    /** Down while draining or while the tailer cannot read Redis. */
    public Check health() {
        if (draining) {
            return Check.down("relay", "draining");
        }
        Check tail = tailer.health();
        return new Check("relay", tail.up(), sessions.size() + " live connections; tailer " + tail.detail());
    }

    /**
     * Every tick: wakes writers whose wait ran out (their parks have no timeout, see {@link Mailbox#await}). Every
     * second: cuts off sessions told to end whose writer is stuck on a client that stopped reading.
     */
    private void watch() {
        long lastStuckCheck = System.nanoTime();
        while (!closed) {
            LockSupport.parkNanos(TICK.toNanos());
            long now = System.nanoTime();
            boolean stuckCheck = now - lastStuckCheck >= TimeUnit.SECONDS.toNanos(1);
            if (stuckCheck) {
                lastStuckCheck = now;
            }
            for (Session session : sessions) {
                session.tick(now);
                long since = session.signalledAtNanos();
                if (stuckCheck && since != 0 && now - since > STUCK_WRITER.toNanos()) {
                    session.interruptWriter();
                }
            }
            for (Recheck recheck : rechecks.values()) {
                recheck.startIfDue(now);
            }
        }
    }

    /**
     * The periodic check of a revocable credential behind a live session: when the credential no longer holds, or
     * no longer covers the session's scopes, the session ends with {@code reauth}. When the check cannot be made
     * (the admin service is down) the session goes on: an outage is not a revocation.
     */
    private static final class Recheck {
        private final Session session;
        private final Identity.Recheck check;
        private final List<Scope> scopes;
        private final AtomicBoolean running = new AtomicBoolean();
        private volatile long dueNanos;

        Recheck(Session session, Identity.Recheck check, List<Scope> scopes) {
            this.session = session;
            this.check = check;
            this.scopes = scopes;
            this.dueNanos = System.nanoTime() + check.every().toNanos();
        }

        void startIfDue(long now) {
            if (now - dueNanos >= 0 && running.compareAndSet(false, true)) {
                Thread.ofVirtual().name("alimi-recheck").start(this::run);
            }
        }

        private void run() {
            try {
                Optional<Identity> current = check.current().identity();
                if (current.isEmpty() || !current.get().profile().scopes().containsAll(scopes)) {
                    session.end(Session.End.REAUTH);
                }
            } catch (IdentityUnavailableException e) {
                LOG.fine(() -> "a live connection's credential could not be rechecked: " + e.getMessage());
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "a live connection's credential recheck failed", e);
            } finally {
                dueNanos = System.nanoTime() + check.every().toNanos();
                running.set(false);
            }
        }
    }

    @Override
    public void close() {
        if (!draining) {
            drain();
        }
        closed = true;
        tailer.stop();
        LockSupport.unpark(watchdog);
    }
}
