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
    PUBLISH_BATCH_EVENTS("publish.max-batch-events"),
    /**
     * Requests with a missing, invalid or expired credential from one client address (IPv6: one /64), per second:
     * over it, the address is refused before its credentials are even checked.
     */
    FAILED_AUTH_PER_IP("failed-auth-per-ip"),
    /** One-time stream tickets (and session cookies) issued to one admin per second. */
    TICKETS_PER_ADMIN("tickets-per-admin"),
    /** WebSocket {@code resume} messages of one admin per second (each replays from a cursor). */
    RESUMES_PER_ADMIN("resumes-per-admin"),
    /** Timeline pages, unread counts and scope reads of one admin per second. */
    READS_PER_ADMIN("reads-per-admin"),
    /** Read marks of one admin per second (each wakes the admin's live streams on every node). */
    READ_MARKS_PER_ADMIN("read-marks-per-admin"),
    /** Device registrations and removals of one admin per second. */
    DEVICE_WRITES_PER_ADMIN("device-writes-per-admin"),
    /** Preference changes of one admin per second (each re-judges the admin's live streams on every node). */
    PREFERENCE_WRITES_PER_ADMIN("preference-writes-per-admin");

    private final String key;

    Limit(String key) {
        this.key = key;
    }

    /** The name in configuration ({@code alimi.limits.<key>} or {@code alimi.<key>}) and the metrics label. */
    public String key() {
        return key;
    }
}
