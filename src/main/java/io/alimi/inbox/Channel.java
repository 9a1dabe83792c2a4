package io.alimi.inbox;

import java.util.Optional;

/** Where an admin may be told of an event, each of which they can mute. */
public enum Channel {
    /** The live stream: a toast, and the event appearing on an open page as it happens. */
    LIVE("live"),
    /** The inbox list and the unread count. An event out of the inbox does not toast either: muting this mutes live. */
    INBOX("inbox"),
    /** The admin's phones. */
    PUSH("push");

    private final String label;

    Channel(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static Optional<Channel> of(String label) {
        for (Channel channel : values()) {
            if (channel.label.equals(label)) {
                return Optional.of(channel);
            }
        }
        return Optional.empty();
    }
}
