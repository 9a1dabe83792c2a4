package io.alimi.support;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/** Publishes events to a node over HTTP, the way a producer would, and fails the test on anything but 202. */
public final class Publisher {

    private final Http http;

    public Publisher(int port) {
        this.http = new Http(port);
    }

    /** Publishes one {@code order.created} event; returns the 202 body's first accepted entry. */
    public JsonNode publish(String id, String targets) {
        return publishJson(Events.json(id, targets));
    }

    public JsonNode publishJson(String json) {
        Http.Reply reply = http.post("/v1/events", "application/cloudevents+json", json, "X-Api-Key", TestNode.API_KEY);
        if (reply.status() != 202) {
            throw new AssertionError("publish failed: " + reply.status() + " " + reply.body());
        }
        return reply.json().get("accepted").get(0);
    }

    public void publishAll(List<String> jsonEvents) {
        Http.Reply reply = http.post("/v1/events", "application/cloudevents-batch+json", "[" + String.join(",", jsonEvents) + "]",
                "X-Api-Key", TestNode.API_KEY);
        if (reply.status() != 202) {
            throw new AssertionError("publish failed: " + reply.status() + " " + reply.body());
        }
    }
}
