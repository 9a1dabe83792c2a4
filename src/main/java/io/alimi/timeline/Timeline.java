package io.alimi.timeline;

import io.alimi.event.Envelope;
import io.alimi.event.EventId;
import io.alimi.event.Scope;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The persistent, capped timeline of every scope.
 *
 * <p>Guarantees:
 * <ul>
 *   <li><b>Atomic per scope.</b> Appending an event to one scope (dedup check, add, trim, epoch) is one atomic
 *       step; appending it to several scopes is one such step per scope, not one across scopes.</li>
 *   <li><b>Effectively once.</b> An event id already appended to a scope within the retention's dedup window is
 *       not added again; its original entry id is returned, so retrying a failed or unknown append is always
 *       safe.</li>
 *   <li><b>Order.</b> Within one call, events land in each scope in list order; calls made one after another
 *       from one thread, each waiting for the one before, land in that order too; calls that do not wait
 *       name the one before ({@link #appendAfter}).</li>
 *   <li><b>Epochs.</b> A scope's stream carries an epoch, set when the stream is created; a stream lost and
 *       created again has a new epoch, so a position in the old one is never taken for one in the new.</li>
 * </ul>
 * Implementations are thread-safe. Futures fail with the store's exception when it cannot be reached; a failed
 * append may have added some of its events (retry it: duplicates are recognised).
 */
public interface Timeline {

    /** Appends each event to each of its target scopes; one result per event, in order. */
    default CompletableFuture<List<Appended>> append(List<Envelope> events) {
        return appendAfter(events, Tail.NONE).result();
    }

    /**
     * Appends as {@link #append}, without waiting for an earlier append that may still be on its way: in each scope
     * both write to, none of these events lands unless {@code previous}'s last event there is in place. If the
     * earlier append fails, this one fails in the scopes they share (and may land in the others); retrying the
     * earlier one and then this one keeps every scope's order. What a pipeline of batches (the bridge) needs to
     * overlap one batch's append with the next one's preparation.
     */
    Appending appendAfter(List<Envelope> events, Tail previous);

    /** An append on its way: its result to come, and the tail an append sent after it names. */
    record Appending(CompletableFuture<List<Appended>> result, Tail tail) {
    }

    /** Where an append leaves each scope it writes to: the last of its events there. */
    record Tail(Map<Scope, EventId> last) {

        public static final Tail NONE = new Tail(Map.of());

        public Tail {
            last = Map.copyOf(last);
        }

        public static Tail of(List<Envelope> events) {
            Map<Scope, EventId> last = new HashMap<>();
            for (Envelope event : events) {
                EventId id = new EventId(event.source(), event.id());
                for (Scope scope : event.targets()) {
                    last.put(scope, id);
                }
            }
            return new Tail(last);
        }
    }

    /** Up to {@code limit} entries of {@code scope} after {@code after} (exclusive), oldest first. */
    CompletableFuture<List<Entry>> readAfter(Scope scope, StreamId after, int limit);

    /** Up to {@code limit} entries of {@code scope} before {@code before} (exclusive; null: the newest), newest first. */
    CompletableFuture<List<Entry>> readBefore(Scope scope, StreamId before, int limit);

    /**
     * Up to {@code limit} entries of {@code scope} after {@code after} and before {@code before} (both exclusive;
     * {@code before} null: up to the newest), newest first.
     */
    CompletableFuture<List<Entry>> readNewest(Scope scope, StreamId after, StreamId before, int limit);

    /** An entry's id and the size of its envelope in bytes. */
    record EntryRef(StreamId id, int bytes) {
    }

    /**
     * As {@link #readNewest}, the ids and envelope sizes only: what deciding which entries to read costs, without
     * carrying them.
     */
    default CompletableFuture<List<EntryRef>> idsNewest(Scope scope, StreamId after, StreamId before, int limit) {
        return readNewest(scope, after, before, limit).thenApply(entries -> entries.stream()
                .map(entry -> new EntryRef(entry.id(), entry.json().length)).toList());
    }

    /** Up to {@code limit} entries of {@code scope} from {@code from} through {@code through} (both inclusive), oldest first. */
    default CompletableFuture<List<Entry>> readRange(Scope scope, StreamId from, StreamId through, int limit) {
        return readAfter(scope, from.equals(StreamId.ZERO) ? StreamId.ZERO : from.previous(), limit)
                .thenApply(entries -> entries.stream().filter(entry -> entry.id().compareTo(through) <= 0).toList());
    }

    /**
     * Where each scope's stream stands, for many scopes at once (a few calls, not one per scope), in the order
     * given.
     */
    CompletableFuture<List<StreamHead>> heads(List<Scope> scopes);

    /** The scope's epoch, length, oldest and newest entry ids and the store's clock, read together. */
    CompletableFuture<StreamBounds> bounds(Scope scope);

    /**
     * Keeps a set of scopes too large for a cursor ({@code io.alimi.event.Cursor.Followed.Stored}) for the dedup
     * window from now, under its digest: written once, its time-to-live renewed by each later call.
     */
    CompletableFuture<Void> keepScopeSet(String digest, byte[] encoded);

    /** A set kept by {@link #keepScopeSet}, if it is still kept. */
    CompletableFuture<java.util.Optional<byte[]>> scopeSet(String digest);

    /**
     * The entry {@code event} got in {@code scope}, from the scope's dedup record: empty when the event was not
     * appended there, or longer ago than the dedup window ({@code alimi.timeline.dedup-ttl}).
     */
    CompletableFuture<java.util.Optional<StreamId>> entryOf(Scope scope, io.alimi.event.EventId event);
}
