package io.alimi.support;

import io.alimi.event.Envelope;
import io.alimi.event.EventId;
import io.alimi.event.Scope;
import io.alimi.timeline.Entry;
import io.alimi.timeline.StreamBounds;
import io.alimi.timeline.StreamHead;
import io.alimi.timeline.StreamId;
import io.alimi.timeline.Timeline;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** A timeline that passes every call to another: tests override what they make fail or slow. */
public class ForwardingTimeline implements Timeline {

    private final Timeline delegate;

    public ForwardingTimeline(Timeline delegate) {
        this.delegate = delegate;
    }

    @Override
    public Appending appendAfter(List<Envelope> events, Tail previous) {
        return delegate.appendAfter(events, previous);
    }

    @Override
    public CompletableFuture<List<Entry>> readAfter(Scope scope, StreamId after, int limit) {
        return delegate.readAfter(scope, after, limit);
    }

    @Override
    public CompletableFuture<List<Entry>> readBefore(Scope scope, StreamId before, int limit) {
        return delegate.readBefore(scope, before, limit);
    }

    @Override
    public CompletableFuture<List<Entry>> readNewest(Scope scope, StreamId after, StreamId before, int limit) {
        return delegate.readNewest(scope, after, before, limit);
    }

    @Override
    public CompletableFuture<List<StreamHead>> heads(List<Scope> scopes) {
        return delegate.heads(scopes);
    }

    @Override
    public CompletableFuture<StreamBounds> bounds(Scope scope) {
        return delegate.bounds(scope);
    }

    @Override
    public CompletableFuture<Void> keepScopeSet(String digest, byte[] encoded) {
        return delegate.keepScopeSet(digest, encoded);
    }

    @Override
    public CompletableFuture<Optional<byte[]>> scopeSet(String digest) {
        return delegate.scopeSet(digest);
    }

    @Override
    public CompletableFuture<Optional<StreamId>> entryOf(Scope scope, EventId event) {
        return delegate.entryOf(scope, event);
    }
}
