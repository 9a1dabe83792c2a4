package io.alimi.support;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/** What the test Kafka servers do through the Admin API: wait for brokers, create topics. */
final class KafkaAdmin {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private KafkaAdmin() {
    }

    static Admin create(String bootstrap) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
    }

    /** Returns once {@code count} brokers are registered and unfenced, as seen through {@code bootstrap}. */
    static void awaitBrokers(String bootstrap, int count) {
        try (Admin admin = create(bootstrap)) {
            Await.until(READY_TIMEOUT, count + " Kafka broker(s) up at " + bootstrap, () -> {
                try {
                    return admin.describeCluster().nodes().get().size() == count;
                } catch (ExecutionException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    /** Creates the topic if it does not exist yet, returning once every partition has a leader. */
    static void createTopic(String bootstrap, NewTopic topic) {
        try (Admin admin = create(bootstrap)) {
            try {
                admin.createTopics(List.of(topic)).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new IllegalStateException("cannot create topic " + topic.name(), e.getCause());
                }
            }
            Await.until(READY_TIMEOUT, "every partition of " + topic.name() + " has a leader",
                    () -> hasLeaders(admin, topic.name()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static boolean hasLeaders(Admin admin, String topic) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().stream()
                    .allMatch(p -> p.leader() != null && !p.leader().isEmpty());
        } catch (ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
