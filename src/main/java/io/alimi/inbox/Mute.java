package io.alimi.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;
import io.alimi.event.Scope;

import java.util.EnumSet;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;

/**
 * One thing an admin does not want to be told of, on some channels: a type (or every type under a prefix), a scope
 * (one mall, one partner, everyone's notices), or a type in one scope.
 *
 * @param type     the types it covers; empty: every type (then a scope is given)
 * @param scope    the scope it covers; empty: every scope (then a type is given)
 * @param channels where it is muted, at least one
 */
public record Mute(Optional<TypePattern> type, Optional<Scope> scope, Set<Channel> channels) {

    public Mute {
        if (type.isEmpty() && scope.isEmpty()) {
            throw new IllegalArgumentException("give a type, a scope or both");
        }
        if (channels.isEmpty()) {
            throw new IllegalArgumentException("channels: give at least one of live, inbox, push");
        }
        channels = Set.copyOf(channels);
    }

    /** Whether this mutes an event of {@code eventType} reaching the admin through {@code through} on {@code channel}. */
    public boolean mutes(Channel channel, String eventType, Scope through) {
        return (channels.contains(channel) || channel == Channel.LIVE && channels.contains(Channel.INBOX))
                && (type.isEmpty() || type.get().matches(eventType))
                && (scope.isEmpty() || scope.get().equals(through));
    }

    /** Whether this names the same types and scope as {@code other} (whatever the channels). */
    public boolean sameSubject(Mute other) {
        return type.equals(other.type) && scope.equals(other.scope);
    }

    /**
     * From its JSON form, {@code {"type":"product.qna.created","scope":"mall:3","channels":["live","push"]}}.
     *
     * @throws IllegalArgumentException naming the member at fault (without the rule's own place, which the caller adds)
     */
    public static Mute fromJson(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException("must be an object with type and/or scope, and channels");
        }
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!name.equals("type") && !name.equals("scope") && !name.equals("channels")) {
                throw new IllegalArgumentException("." + name + ": unknown member (type, scope, channels)");
            }
        }
        Optional<TypePattern> type = text(json, "type").map(text -> {
            try {
                return new TypePattern(text);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(".type: " + e.getMessage());
            }
        });
        Optional<Scope> scope = text(json, "scope").map(text -> {
            try {
                return Scope.parse(text);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(".scope: " + e.getMessage());
            }
        });
        JsonNode list = json.get("channels");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException(".channels: must be a non-empty array of live, inbox, push");
        }
        Set<Channel> channels = EnumSet.noneOf(Channel.class);
        for (JsonNode item : list) {
            Optional<Channel> channel = item.isTextual() ? Channel.of(item.textValue()) : Optional.empty();
            if (channel.isEmpty()) {
                throw new IllegalArgumentException(".channels: " + (item.isTextual() ? "'" + io.alimi.event.Text.quote(item.textValue()) + "'" : item.getNodeType().toString().toLowerCase(java.util.Locale.ROOT))
                        + " is not one of live, inbox, push");
            }
            channels.add(channel.get());
        }
        if (type.isEmpty() && scope.isEmpty()) {
            throw new IllegalArgumentException(": give a type, a scope or both");
        }
        return new Mute(type, scope, channels);
    }

    private static Optional<String> text(JsonNode json, String name) {
        JsonNode value = json.get(name);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isTextual()) {
            throw new IllegalArgumentException("." + name + ": must be a string");
        }
        return Optional.of(value.textValue());
    }

    public ObjectNode toJson() {
        ObjectNode json = EventJson.mapper().createObjectNode();
        type.ifPresent(t -> json.put("type", t.text()));
        scope.ifPresent(s -> json.put("scope", s.toString()));
        ArrayNode list = json.putArray("channels");
        for (Channel channel : Channel.values()) {
            if (channels.contains(channel)) {
                list.add(channel.label());
            }
        }
        return json;
    }

    /**
     * From the configuration's text form: {@code type[@scope]=channel[+channel]}, {@code *} for every type, as in
     * {@code product.qna.*=push} or {@code *@all=live}.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static Mute parse(String text) {
        int eq = text.lastIndexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
            throw new IllegalArgumentException("'" + text + "': must be type[@scope]=channel[+channel], as in product.qna.*=push");
        }
        String subject = text.substring(0, eq).strip();
        Set<Channel> channels = EnumSet.noneOf(Channel.class);
        for (String label : text.substring(eq + 1).split("\\+")) {
            channels.add(Channel.of(label.strip()).orElseThrow(() -> new IllegalArgumentException(
                    "'" + text + "': '" + label.strip() + "' is not one of live, inbox, push")));
        }
        int at = subject.lastIndexOf('@');
        String typeText = at < 0 ? subject : subject.substring(0, at);
        Optional<Scope> scope = at < 0 ? Optional.empty() : Optional.of(Scope.parse(subject.substring(at + 1)));
        Optional<TypePattern> type = typeText.equals("*") ? Optional.empty() : Optional.of(new TypePattern(typeText));
        if (type.isEmpty() && scope.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "': * needs a scope (*@mall:1=live)");
        }
        return new Mute(type, scope, channels);
    }
}
