package io.alimi.inbox;

import io.alimi.event.Scope;
import io.alimi.timeline.Entry;

import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * One admin's preferences in force: their mutes (or the operator's defaults, if they never saved any), under the
 * operator's policy (critical types are never muted).
 *
 * <p>An event is judged as a whole, not copy by copy: it is muted on a channel when, through every scope it
 * reaches the admin by (its targets among the scopes being looked at), some mute covers its type there. So an event
 * to a muted mall and to the admin themselves still reaches them, and every copy of an event gets the same verdict.
 *
 * @param mutes  what is muted
 * @param saved  whether the admin saved these (false: the operator's defaults)
 * @param policy the operator's policy they are under
 */
public record Preferences(List<Mute> mutes, boolean saved, InboxPolicy policy) {

    /** At most this many mutes per admin. */
    public static final int MAX_MUTES = 200;

    /** How the live stream hands an event to this admin. */
    public enum Delivery {
        /** As any event: the page may toast it. */
        SHOWN,
        /** Muted on live, kept in the inbox: the page lists and counts it, without a toast. */
        QUIET,
        /** Muted in the inbox (and so on live): not handed out; the cursor moves past it. */
        HIDDEN
    }

    public Preferences {
        mutes = List.copyOf(mutes);
    }

    public static Preferences defaults(InboxPolicy policy) {
        return new Preferences(policy.defaults(), false, policy);
    }

    public boolean mutesNothing() {
        return mutes.isEmpty();
    }

    /**
     * Whether an event of {@code type} is muted on {@code channel}.
     *
     * @param through the scopes it reaches the admin by (its targets among the scopes looked at: a stream's, a
     *                page's, those that put the admin in a push's audience)
     */
    public boolean muted(Channel channel, String type, Collection<Scope> through) {
        if (mutes.isEmpty() || through.isEmpty() || policy.isCritical(type)) {
            return false;
        }
        for (Scope scope : through) {
            if (!covered(channel, type, scope)) {
                return false;
            }
        }
        return true;
    }

    private boolean covered(Channel channel, String type, Scope through) {
        for (Mute mute : mutes) {
            if (mute.mutes(channel, type, through)) {
                return true;
            }
        }
        return false;
    }

    /** How a live stream hands out an event of {@code type} reaching the admin by {@code through}. */
    public Delivery live(String type, Collection<Scope> through) {
        if (mutes.isEmpty()) {
            return Delivery.SHOWN;
        }
        if (muted(Channel.INBOX, type, through)) {
            return Delivery.HIDDEN;
        }
        return muted(Channel.LIVE, type, through) ? Delivery.QUIET : Delivery.SHOWN;
    }

    /** Which timeline entries are in the inbox (list and unread count) when looking at {@code scopes}. */
    public Predicate<Entry> inInbox(Set<Scope> scopes) {
        if (mutes.isEmpty()) {
            return entry -> true;
        }
        return entry -> {
            List<Scope> through = Scope.readStored(entry.targets());
            through.removeIf(scope -> !scopes.contains(scope));
            return !muted(Channel.INBOX, entry.type() == null ? "" : entry.type(), through);
        };
    }
}
