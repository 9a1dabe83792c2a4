package io.alimi.dev;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;

/**
 * {@code scripts/produce}: publishes events to Alimi's Kafka topic the way a domain service would.
 */
public final class Produce {

    private static final String USAGE = """
            Usage: scripts/produce --targets SCOPES [options]     one event (or --count N) built from options
                   scripts/produce --stdin                        one structured CloudEvent JSON per input line

              --targets SCOPES   comma-separated scopes: all, mall:<id>, admin:<id>, partner:<id>   (required)
              --type TYPE        CloudEvents type                      (default order.created)
              --data JSON        a JSON object                         (default {})
              --id ID            event id                              (default a random UUID; -<n> appended with --count)
              --source URI       CloudEvents source                    (default /dev/produce)
              --subject TEXT     CloudEvents subject
              --push             mark the event for mobile push
              --binary           Kafka binary mode (ce_* headers, value = data) instead of structured JSON
              --count N          send N events
              --key KEY          Kafka record key                      (default the first target)
              --topic TOPIC      (default $ALIMI_BRIDGE_TOPIC or alimi.events)
              --bootstrap HOST:PORT   (default $ALIMI_KAFKA_BOOTSTRAP or 127.0.0.1:9092)

            Example: scripts/produce --targets mall:1 --type excel.export.completed \\
                       --data '{"fileName":"orders.xlsx","downloadUrl":"https://example.invalid/f/1"}'
            """;

    private Produce() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--push", "--binary", "--stdin" -> options.put(arg, "true");
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    return;
                }
                default -> {
                    if (!arg.startsWith("--") || i + 1 >= args.length) {
                        fail("unknown or incomplete option '" + arg + "'");
                    }
                    options.put(arg, args[++i]);
                }
            }
        }
        String bootstrap = options.getOrDefault("--bootstrap", env("ALIMI_KAFKA_BOOTSTRAP", "127.0.0.1:9092"));
        String topic = options.getOrDefault("--topic", env("ALIMI_BRIDGE_TOPIC", DevLauncher.TOPIC));
        List<ProducerRecord<byte[], byte[]>> records = options.containsKey("--stdin") ? fromStdin(topic) : fromOptions(options, topic);

        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (ProducerRecord<byte[], byte[]> record : records) {
                sent.add(producer.send(record));
            }
            producer.flush();
            for (int i = 0; i < sent.size(); i++) {
                RecordMetadata meta = sent.get(i).get();
                if (i < 10 || i == sent.size() - 1) {
                    System.out.println("sent " + describe(records.get(i)) + " -> " + meta.topic() + "/" + meta.partition() + "@" + meta.offset());
                } else if (i == 10) {
                    System.out.println("…");
                }
            }
        }
    }

    private static List<ProducerRecord<byte[], byte[]>> fromOptions(Map<String, String> options, String topic) {
        String targets = options.get("--targets");
        if (targets == null) {
            fail("--targets is required");
        }
        int count = Integer.parseInt(options.getOrDefault("--count", "1"));
        String baseId = options.getOrDefault("--id", UUID.randomUUID().toString());
        String type = options.getOrDefault("--type", "order.created");
        String source = options.getOrDefault("--source", "/dev/produce");
        String data = options.getOrDefault("--data", "{}");
        byte[] key = options.getOrDefault("--key", targets.split(",")[0].strip()).getBytes(StandardCharsets.UTF_8);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int n = 1; n <= count; n++) {
            String id = count == 1 ? baseId : baseId + "-" + n;
            if (options.containsKey("--binary")) {
                RecordHeaders headers = new RecordHeaders();
                header(headers, "ce_specversion", "1.0");
                header(headers, "ce_id", id);
                header(headers, "ce_source", source);
                header(headers, "ce_type", type);
                header(headers, "ce_targets", targets);
                if (options.containsKey("--subject")) {
                    header(headers, "ce_subject", options.get("--subject"));
                }
                if (options.containsKey("--push")) {
                    header(headers, "ce_push", "true");
                }
                header(headers, "content-type", "application/json");
                records.add(new ProducerRecord<>(topic, null, key, data.getBytes(StandardCharsets.UTF_8), headers));
            } else {
                String json = "{\"specversion\":\"1.0\",\"id\":" + quote(id) + ",\"source\":" + quote(source)
                        + ",\"type\":" + quote(type) + ",\"targets\":" + quote(targets)
                        + (options.containsKey("--subject") ? ",\"subject\":" + quote(options.get("--subject")) : "")
                        + (options.containsKey("--push") ? ",\"push\":\"true\"" : "")
                        + ",\"time\":" + quote(java.time.OffsetDateTime.now().toString())
                        + ",\"datacontenttype\":\"application/json\",\"data\":" + data + "}";
                RecordHeaders headers = new RecordHeaders();
                header(headers, "content-type", "application/cloudevents+json; charset=UTF-8");
                records.add(new ProducerRecord<>(topic, null, key, json.getBytes(StandardCharsets.UTF_8), headers));
            }
        }
        return records;
    }

    private static List<ProducerRecord<byte[], byte[]>> fromStdin(String topic) throws Exception {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (!line.isBlank()) {
                RecordHeaders headers = new RecordHeaders();
                header(headers, "content-type", "application/cloudevents+json; charset=UTF-8");
                records.add(new ProducerRecord<>(topic, (Integer) null, (byte[]) null, line.getBytes(StandardCharsets.UTF_8), headers));
            }
        }
        return records;
    }

    private static void header(RecordHeaders headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }

    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    private static String describe(ProducerRecord<byte[], byte[]> record) {
        String value = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
        return value.length() > 120 ? value.substring(0, 120) + "…" : value;
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }

    private static void fail(String message) {
        System.err.println("produce: " + message);
        System.err.print(USAGE);
        System.exit(2);
    }
}
