package io.alimi.limit;

/** The limits a node enforces, by the name they have in configuration and in metrics. */
public enum Limit {
    /** Live connections of one admin on one node. */
    CONNECTIONS_PER_ADMIN("connections-per-admin"),
    /** Live connections on one node, all admins together. */
    MAX_CONNECTIONS("max-connections"),
    /** Stream connects (and ticket requests) per second from one client address. */
    CONNECTS_PER_SECOND_PER_IP("connects-per-second-per-ip"),
    /** New streams (and tickets) per second on one node, from every address together. */
    ADMISSIONS_PER_SECOND("admissions-per-second"),
    /** Bytes of one publish request body. */
    PUBLISH_BODY_BYTES("publish.max-body-bytes"),
    /** Events of one publish batch. */
    PUBLISH_BATCH_EVENTS("publish.max-batch-events");

    private final String key;

    Limit(String key) {
        this.key = key;
    }

    /** The name in configuration ({@code alimi.limits.<key>} or {@code alimi.<key>}) and the metrics label. */
    public String key() {
        return key;
    }
}
