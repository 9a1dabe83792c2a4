package io.alimi.inbox;

import io.alimi.config.Settings;
import io.alimi.config.SettingsException;

import java.util.ArrayList;
import java.util.List;

/**
 * What the operator decides for every admin: the types nobody can mute, and the mutes of an admin who never saved
 * preferences of their own.
 *
 * @param critical types that reach every channel whatever an admin muted ({@code alimi.inbox.critical-types})
 * @param defaults the mutes of an admin without saved preferences ({@code alimi.inbox.default-mutes})
 */
public record InboxPolicy(List<TypePattern> critical, List<Mute> defaults) {

    public static final List<String> DEFAULT_CRITICAL = List.of("fds.alert.raised");
    public static final InboxPolicy DEFAULTS = new InboxPolicy(DEFAULT_CRITICAL.stream().map(TypePattern::new).toList(), List.of());

    public InboxPolicy {
        critical = List.copyOf(critical);
        defaults = List.copyOf(defaults);
    }

    /** @throws SettingsException naming the key and the item at fault */
    public static InboxPolicy from(Settings settings) {
        String criticalKey = "alimi.inbox.critical-types";
        List<String> criticalText = settings.raw(criticalKey).isPresent() ? settings.list(criticalKey) : DEFAULT_CRITICAL;
        List<TypePattern> critical = new ArrayList<>();
        for (String text : criticalText) {
            try {
                critical.add(new TypePattern(text));
            } catch (IllegalArgumentException e) {
                throw new SettingsException(criticalKey, "'" + text + "': " + e.getMessage());
            }
        }
        String defaultsKey = "alimi.inbox.default-mutes";
        List<Mute> defaults = new ArrayList<>();
        for (String text : settings.list(defaultsKey)) {
            try {
                defaults.add(Mute.parse(text));
            } catch (IllegalArgumentException e) {
                throw new SettingsException(defaultsKey, e.getMessage());
            }
        }
        InboxPolicy policy = new InboxPolicy(critical, defaults);
        for (Mute mute : defaults) {
            policy.refusal(mute).ifPresent(why -> {
                throw new SettingsException(defaultsKey, why);
            });
        }
        return policy;
    }

    public boolean isCritical(String type) {
        for (TypePattern pattern : critical) {
            if (pattern.matches(type)) {
                return true;
            }
        }
        return false;
    }

    /** Why a mute cannot be kept, if it cannot: it names only types that cannot be muted. */
    public java.util.Optional<String> refusal(Mute mute) {
        if (mute.type().isPresent()) {
            for (TypePattern pattern : critical) {
                if (mute.type().get().within(pattern)) {
                    return java.util.Optional.of("type '" + mute.type().get() + "' cannot be muted: it is critical ("
                            + "alimi.inbox.critical-types: " + pattern + ")");
                }
            }
        }
        return java.util.Optional.empty();
    }
}
