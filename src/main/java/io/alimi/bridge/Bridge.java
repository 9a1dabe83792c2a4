package io.alimi.bridge;

import io.alimi.retry.Backoff;
import io.alimi.event.Envelope;
import io.alimi.event.EnvelopeReader;
import io.alimi.event.InvalidEventException;
import io.alimi.observe.Check;
import io.alimi.timeline.Appended;
import io.alimi.timeline.Timeline;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Kafka → timeline. One consumer of the bridge group; partitions spread over every bridge instance.
 *
 * <p>Guarantees:
 * <ul>
 *   <li><b>At least once, effectively once.</b> A batch's offsets are committed only after every target of every
 *       valid record is appended and every invalid record is in the dead-letter topic. A batch that fails is
 *       retried until it succeeds; one that is cut short (crash, lost partition) is redelivered, and the
 *       timeline's per-scope dedup turns redelivery into no duplicate.</li>
 *   <li><b>Order.</b> Records of one partition reach each scope in partition order.</li>
 *   <li><b>Overlap.</b> While one poll's batch is being appended, the next is polled, decoded and sent after it
 *       ({@link Timeline#appendAfter}): in each scope both touch, the later one writes nothing unless the earlier
 *       one's last event there is in place, so a failed batch is retried, then the one after it, in order.
 *       Batches are committed in poll order, each once it and the one before it are complete.</li>
 *   <li><b>Never blocked by a bad record.</b> A record that is not a valid event goes to the dead-letter topic
 *       with the reason; the partition moves on.</li>
 *   <li><b>Outages.</b> While Redis (or the dead-letter topic) is unavailable the bridge neither commits nor
 *       skips: it pauses its partitions, keeps its group membership, backs off and retries, and its health check
 *       says so.</li>
 * </ul>
 * Threading: one platform thread owns the consumer; {@link #close()} may be called from any thread.
 */
public final class Bridge implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Bridge.class.getName());
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    /** A poll while a batch is in flight: short, so the next batch is sent soon after the answer. */
    private static final Duration GATHER_POLL_TIMEOUT = Duration.ofMillis(1);

    private final BridgeSettings settings;
    private final Consumer<byte[], byte[]> consumer;
    private final DeadLetters deadLetters;
    private final Timeline timeline;
    private final EnvelopeReader reader;
    private final Thread thread;
    /** Batches polled and not yet committed, oldest first: at most two, the one being completed and the next. */
    private final List<Batch> pending = new ArrayList<>(2);
    /** The batch being polled, before it is sent: told of revoked partitions like the pending ones. */
    private Batch gathering;
    private final AtomicLong appended = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong retries = new AtomicLong();
    private volatile long lag = -1;

    private volatile boolean stopping;
    private volatile long stopDeadline;
    private volatile Status status = new Status(State.STARTING, Instant.now(), "");
    private boolean retrying;

    enum State { STARTING, RUNNING, RETRYING, STOPPED, FAILED }

    record Status(State state, Instant since, String detail) {
    }

    Bridge(BridgeSettings settings, Consumer<byte[], byte[]> consumer, DeadLetters deadLetters, Timeline timeline,
           EnvelopeReader reader) {
        this.settings = settings;
        this.consumer = consumer;
        this.deadLetters = deadLetters;
        this.timeline = timeline;
        this.reader = reader;
        this.thread = new Thread(this::run, "alimi-bridge");
    }

    /** Builds a bridge with real Kafka clients; call {@link #start()} to begin consuming. */
    public static Bridge create(BridgeSettings settings, Timeline timeline, EnvelopeReader reader) {
        return new Bridge(settings, KafkaClients.consumer(settings), new DeadLetters(KafkaClients.producer(settings),
                settings.deadLetterTopic()), timeline, reader);
    }

    public Bridge start() {
        thread.start();
        return this;
    }

    /** Counts since start: entries appended, duplicates recognised, records dead-lettered. */
    public long appendedCount() {
        return appended.get();
    }

    public long duplicateCount() {
        return duplicates.get();
    }

    public long deadLetteredCount() {
        return deadLettered.get();
    }

    /** Records in the topic not yet consumed by this bridge, over its partitions (-1 before it knows). */
    public long lagCount() {
        return lag;
    }

    private long lag() {
        long total = 0;
        boolean known = false;
        for (org.apache.kafka.common.TopicPartition partition : consumer.assignment()) {
            java.util.OptionalLong partitionLag = consumer.currentLag(partition);
            if (partitionLag.isPresent()) {
                total += partitionLag.getAsLong();
                known = true;
            }
        }
        return known ? total : lag;
    }

    /** Failed batch attempts, each followed by a backoff. */
    public long retryCount() {
        return retries.get();
    }

    /** Whether {@link #close()} has been called. */
    boolean stopRequested() {
        return stopping;
    }

    /** Up while consuming normally; down while retrying a batch or after a failure. */
    public Check health() {
        Status now = status;
        String detail = now.state().name().toLowerCase(java.util.Locale.ROOT) + " since " + now.since()
                + (now.detail().isEmpty() ? "" : ": " + now.detail());
        boolean up = now.state() == State.RUNNING || now.state() == State.STARTING;
        return new Check("bridge", up, detail);
    }

    /**
     * Stops consuming: the batch in flight is finished and committed (within the shutdown timeout), the consumer
     * leaves the group, and the call returns once the thread has ended.
     */
    @Override
    public void close() {
        stopDeadline = System.nanoTime() + settings.shutdownTimeout().toNanos();
        stopping = true;
        consumer.wakeup();
        try {
            thread.join(settings.shutdownTimeout().plusSeconds(10).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            consumer.subscribe(List.of(settings.topic()), new Rebalance());
            setStatus(State.RUNNING, "");
            Batch inFlight = null;
            boolean abandoned = false;
            while (!stopping) {
                Batch decoded = gather(inFlight);
                if (decoded != null && inFlight != null && !inFlight.canBeFollowed()) {
                    // Its attempt failed and it is to be appended again: nothing may be sent behind it before that.
                    if (!complete(inFlight)) {
                        abandoned = true;
                        break;
                    }
                    inFlight = null;
                }
                Batch next = decoded == null ? null : send(decoded, inFlight);
                if (inFlight != null && !complete(inFlight)) {
                    // Left uncommitted at the stop deadline: so is the batch behind it, or its records would be skipped.
                    abandoned = true;
                    break;
                }
                inFlight = next;
                lag = lag();
            }
            if (inFlight != null && !abandoned) {
                complete(inFlight);
            }
            setStatus(State.STOPPED, "");
        } catch (RuntimeException | Error e) {
            // Nothing uncommitted is lost: another bridge (or this one restarted) gets it again from Kafka.
            setStatus(State.FAILED, e.toString());
            LOG.log(Level.SEVERE, "bridge stopped by an unexpected failure; uncommitted records will be redelivered", e);
            throw e;
        } finally {
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "closing the Kafka consumer", e);
            }
            deadLetters.close();
        }
    }

    /**
     * Starts a polled batch's events on their way to the timeline behind {@code before}'s (the batch still in
     * flight, if any); its invalid records go to the dead-letter topic when it is completed.
     */
    private Batch send(Batch batch, Batch before) {
        pending.add(batch);
        if (!batch.valid.isEmpty()) {
            if (before != null && !before.canBeFollowed()) {
                throw new IllegalStateException("a batch sent behind one that must be appended again");
            }
            Timeline.Tail after = before == null || before.appending == null ? Timeline.Tail.NONE : before.appending.tail();
            batch.appending = timeline.appendAfter(envelopes(batch), after);
        }
        return batch;
    }

    /**
     * Completes the oldest pending batch: waits for what {@link #send} started, retries until it is all delivered
     * and commits it. Returns false if it is left uncommitted (the stop deadline passed): the batches after it
     * must then not be committed either.
     */
    private boolean complete(Batch batch) {
        Backoff backoff = new Backoff(settings.retryBackoffMin(), settings.retryBackoffMax());
        try {
            while (true) {
                batch.dropRevoked();
                try {
                    deliver(batch);
                    commit(batch);
                    if (retrying) {
                        retrying = false;
                        consumer.resume(consumer.assignment());
                        LOG.info("bridge recovered; batch committed");
                    }
                    setStatus(State.RUNNING, "");
                    return true;
                } catch (WakeupException e) {
                    // close() was called: finish this batch first.
                } catch (RuntimeException e) {
                    String reason = describe(e);
                    if (!retrying) {
                        LOG.log(Level.WARNING, "bridge cannot complete a batch ({0}); pausing and retrying", reason);
                    }
                    retrying = true;
                    retries.incrementAndGet();
                    setStatus(State.RETRYING, reason);
                    settleLaterBatches(batch);
                }
                if (stopping && System.nanoTime() > stopDeadline) {
                    LOG.warning("bridge stopping with an uncommitted batch; Kafka will redeliver it");
                    return false;
                }
                if (!retrying) {
                    continue;
                }
                waitKeepingMembership(backoff.nextNanos());
            }
        } finally {
            pending.remove(batch);
        }
    }

    /**
     * After {@code failed} failed, lets the batch sent behind it finish its attempt before {@code failed} is sent
     * again; an attempt that failed (refused for want of {@code failed}'s events, most often) is dropped, so the
     * batch is appended again once {@code failed} is complete.
     */
    private void settleLaterBatches(Batch failed) {
        for (Batch later : pending) {
            if (later != failed && later.appending != null) {
                try {
                    later.appending.result().join();
                } catch (CompletionException | java.util.concurrent.CancellationException e) {
                    later.appending = null;
                }
            }
        }
    }

    /** Pauses for {@code nanos} inside poll(), so the group does not evict us; paused partitions yield nothing. */
    private void waitKeepingMembership(long nanos) {
        consumer.pause(consumer.assignment());
        long until = System.nanoTime() + nanos;
        long left;
        while ((left = until - System.nanoTime()) > 0) {
            try {
                ConsumerRecords<byte[], byte[]> unexpected = consumer.poll(Duration.ofNanos(left));
                if (!unexpected.isEmpty()) {
                    // Only partitions assigned during this poll can yield; read them again later.
                    for (TopicPartition partition : unexpected.partitions()) {
                        consumer.seek(partition, unexpected.records(partition).get(0).offset());
                    }
                    consumer.pause(consumer.assignment());
                }
            } catch (WakeupException e) {
                return;
            }
        }
    }


    /**
     * Polls the next batch. With none in flight: what the first poll brings (waiting up to {@code POLL_TIMEOUT}),
     * at once. With one in flight: polls, decoding as records come, until the batch is full or the batch in
     * flight has its answer, so batches stay large (a Lua call per scope per batch) and the decoding overlaps the
     * append. Null when nothing came.
     */
    private Batch gather(Batch inFlight) {
        Batch batch = new Batch();
        gathering = batch;
        try {
            do {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(inFlight == null ? POLL_TIMEOUT : GATHER_POLL_TIMEOUT);
                } catch (WakeupException e) {
                    break;
                }
                // A rebalance in this poll: what came before it from a partition taken away is not ours to append
                // (its next owner, or this bridge again, reads it from the last commit); what it returned is.
                batch.dropRevoked();
                batch.revoked.clear();
                decode(records, batch);
            } while (inFlight != null && !inFlight.answered() && batch.size() < settings.maxPollRecords() && !stopping);
        } finally {
            gathering = null;
        }
        return batch.size() == 0 ? null : batch;
    }

    private void decode(ConsumerRecords<byte[], byte[]> records, Batch batch) {
        for (TopicPartition partition : records.partitions()) {
            List<ConsumerRecord<byte[], byte[]>> inPartition = records.records(partition);
            batch.offsets.put(partition, inPartition.get(inPartition.size() - 1).offset() + 1);
            for (ConsumerRecord<byte[], byte[]> record : inPartition) {
                try {
                    batch.valid.add(new Valid(record, reader.readKafka(headers(record), record.value())));
                } catch (InvalidEventException e) {
                    batch.invalid.add(new Invalid(record, e.getMessage()));
                }
            }
        }
    }

    private static List<Map.Entry<String, byte[]>> headers(ConsumerRecord<byte[], byte[]> record) {
        Header[] headers = record.headers().toArray();
        if (headers.length == 0) {
            return List.of();
        }
        List<Map.Entry<String, byte[]>> list = new ArrayList<>(headers.length);
        for (Header header : headers) {
            list.add(Map.entry(header.key(), header.value() == null ? new byte[0] : header.value()));
        }
        return list;
    }

    private static List<Envelope> envelopes(Batch batch) {
        List<Envelope> envelopes = new ArrayList<>(batch.valid.size());
        for (Valid valid : batch.valid) {
            envelopes.add(valid.envelope());
        }
        return envelopes;
    }

    /** Awaits the append {@link #send} started, or makes a new one after a failure, and dead-letters the invalid. */
    private void deliver(Batch batch) {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (Invalid invalid : batch.invalid) {
            sent.add(deadLetters.send(invalid.record(), invalid.reason()));
        }
        if (!batch.valid.isEmpty() && !batch.appended) {
            CompletableFuture<List<Appended>> attempt = batch.appending == null
                    ? timeline.append(envelopes(batch)) : batch.appending.result();
            // A failed attempt is not awaited twice: the next one is made afresh.
            batch.appending = null;
            List<Appended> results = awaitAppend(attempt);
            batch.appended = true;
            for (Appended result : results) {
                result.placements().forEach(p -> (p.duplicate() ? duplicates : appended).incrementAndGet());
            }
        }
        if (!sent.isEmpty()) {
            deadLetters.flush();
            for (Future<RecordMetadata> future : sent) {
                awaitSent(future);
            }
            for (Invalid invalid : batch.invalid) {
                LOG.log(Level.WARNING, "dead-lettered {0}/{1}/{2}: {3}", new Object[] {invalid.record().topic(),
                        invalid.record().partition(), invalid.record().offset(), invalid.reason()});
            }
            deadLettered.addAndGet(batch.invalid.size());
            batch.invalid.clear();
        }
    }

    private static List<Appended> awaitAppend(CompletableFuture<List<Appended>> attempt) {
        try {
            return attempt.join();
        } catch (CompletionException e) {
            throw new BatchFailure("timeline append failed: " + describe(e.getCause()), e.getCause());
        }
    }

    private static void awaitSent(Future<RecordMetadata> future) {
        try {
            future.get();
        } catch (ExecutionException e) {
            throw new BatchFailure("dead-letter send failed: " + describe(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BatchFailure("interrupted while dead-lettering", e);
        }
    }

    private void commit(Batch batch) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        batch.offsets.forEach((partition, next) -> offsets.put(partition, new OffsetAndMetadata(next)));
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets);
        } catch (org.apache.kafka.clients.consumer.CommitFailedException
                 | org.apache.kafka.common.errors.RebalanceInProgressException e) {
            // The partitions moved on: their new owner re-reads from the last commit; dedup absorbs the overlap.
            LOG.log(Level.INFO, "commit skipped after a rebalance: {0}", e.getMessage());
        }
    }

    private void setStatus(State state, String detail) {
        Status now = status;
        if (now.state() != state || !now.detail().equals(detail)) {
            status = new Status(state, now.state() == state ? now.since() : Instant.now(), detail);
        }
    }

    private static String describe(Throwable e) {
        Throwable cause = e;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof BatchFailure) {
            return cause.getMessage();
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    /** The records of one poll and how far their delivery got. */
    private static final class Batch {
        final List<Valid> valid = new ArrayList<>();
        final List<Invalid> invalid = new ArrayList<>();
        final Map<TopicPartition, Long> offsets = new HashMap<>();
        /** Partitions taken from this bridge since the batch was polled: their records are another's now. */
        final Set<TopicPartition> revoked = new HashSet<>();
        /** The append under way, not yet awaited (null before, after, and once it has failed). */
        Timeline.Appending appending;
        boolean appended;

        int size() {
            return valid.size() + invalid.size();
        }

        /** Whether the append sent for it has its answer (or there is none to wait for). */
        boolean answered() {
            return appending == null || appending.result().isDone();
        }

        /** Whether a batch may be sent behind this one now: its append is on its way, done, or has nothing to do. */
        boolean canBeFollowed() {
            return appending != null || appended || valid.isEmpty();
        }

        void dropRevoked() {
            if (revoked.isEmpty()) {
                return;
            }
            valid.removeIf(v -> revoked.contains(new TopicPartition(v.record().topic(), v.record().partition())));
            invalid.removeIf(i -> revoked.contains(new TopicPartition(i.record().topic(), i.record().partition())));
            offsets.keySet().removeAll(revoked);
        }
    }

    private record Valid(ConsumerRecord<byte[], byte[]> record, Envelope envelope) {
    }

    private record Invalid(ConsumerRecord<byte[], byte[]> record, String reason) {
    }

    private static final class BatchFailure extends RuntimeException {
        BatchFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Runs inside poll() on the bridge thread. */
    private final class Rebalance implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            taken(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            taken(partitions);
        }

        private void taken(Collection<TopicPartition> partitions) {
            pending.forEach(batch -> batch.revoked.addAll(partitions));
            if (gathering != null) {
                gathering.revoked.addAll(partitions);
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (retrying) {
                consumer.pause(partitions);
            }
        }
    }
}
