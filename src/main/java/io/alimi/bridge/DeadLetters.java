package io.alimi.bridge;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.Future;

/**
 * The dead-letter topic: a record Alimi cannot use is copied there unchanged (key, value, headers), with why and
 * where it came from in extra headers, so an operator can fix and replay it.
 */
final class DeadLetters {

    /** Why the record was refused, e.g. {@code targets: required …}. */
    static final String REASON = "alimi.dlq.reason";
    /** Where it was read: {@code <topic>/<partition>/<offset>}. */
    static final String ORIGIN = "alimi.dlq.origin";

    private final Producer<byte[], byte[]> producer;
    private final String topic;

    DeadLetters(Producer<byte[], byte[]> producer, String topic) {
        this.producer = producer;
        this.topic = topic;
    }

    Future<RecordMetadata> send(ConsumerRecord<byte[], byte[]> record, String reason) {
        RecordHeaders headers = new RecordHeaders();
        for (Header header : record.headers()) {
            headers.add(header);
        }
        headers.add(REASON, reason.getBytes(StandardCharsets.UTF_8));
        headers.add(ORIGIN, (record.topic() + "/" + record.partition() + "/" + record.offset()).getBytes(StandardCharsets.UTF_8));
        return producer.send(new ProducerRecord<>(topic, null, record.key(), record.value(), headers));
    }

    void flush() {
        producer.flush();
    }

    void close() {
        producer.close();
    }
}
