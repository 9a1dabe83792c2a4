package io.alimi.inbox;

import io.alimi.config.Settings;
import io.alimi.config.SettingsException;
import io.alimi.event.Scope;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PreferencesTest {

    private static Mute mute(String type, String scope, Channel... channels) {
        return new Mute(Optional.ofNullable(type).map(TypePattern::new), Optional.ofNullable(scope).map(Scope::parse),
                EnumSet.copyOf(List.of(channels)));
    }

    @Test
    void aPrefixPatternKeepsItsDotAndAStarOnlyEndsOne() {
        TypePattern product = new TypePattern("product.*");
        assertTrue(product.matches("product.qna.created"));
        assertFalse(product.matches("products.x"));
        assertFalse(product.matches("product."), "a prefix names types under it, not the bare prefix");
        assertFalse(product.matches("product"));
        for (String bad : List.of("*", ".*", "order.*.x", "order*", "a b", "", "x".repeat(257), "주문.created")) {
            assertThrows(IllegalArgumentException.class, () -> new TypePattern(bad), bad);
        }
    }

    @Test
    void onlyMutesThatNameNothingButCriticalTypesAreRefused() {
        InboxPolicy policy = new InboxPolicy(List.of(new TypePattern("fds.alert.raised"), new TypePattern("risk.*")), List.of());
        assertTrue(policy.refusal(mute("fds.alert.raised", null, Channel.PUSH)).isPresent());
        assertTrue(policy.refusal(mute("fds.alert.raised", "mall:1", Channel.LIVE)).isPresent());
        assertTrue(policy.refusal(mute("risk.*", null, Channel.PUSH)).isPresent());
        assertTrue(policy.refusal(mute("risk.fraud.*", null, Channel.PUSH)).isPresent());
        assertTrue(policy.refusal(mute("risk.fraud.hit", null, Channel.PUSH)).isPresent());
        assertFalse(policy.refusal(mute("fds.*", null, Channel.PUSH)).isPresent(), "names other fds types too");
        assertFalse(policy.refusal(mute(null, "mall:1", Channel.PUSH)).isPresent());
        Preferences muting = new Preferences(List.of(mute("fds.*", null, Channel.PUSH), mute(null, "mall:1", Channel.INBOX)), true, policy);
        assertFalse(muting.muted(Channel.PUSH, "fds.alert.raised", List.of(Scope.ALL)), "critical wins over fds.*");
        assertTrue(muting.muted(Channel.PUSH, "fds.rule.hit", List.of(Scope.ALL)));
        assertFalse(muting.muted(Channel.INBOX, "risk.fraud.hit", List.of(Scope.mall("1"))));
    }

    @Test
    void anEventIsMutedOnlyWhenEveryScopeItReachesTheAdminByIsCovered() {
        Preferences muting = new Preferences(List.of(mute(null, "mall:1", Channel.INBOX), mute("order.created", "all", Channel.LIVE)),
                true, InboxPolicy.DEFAULTS);
        assertEquals(Preferences.Delivery.HIDDEN, muting.live("claim.requested", List.of(Scope.mall("1"))));
        assertEquals(Preferences.Delivery.SHOWN, muting.live("claim.requested", List.of(Scope.mall("1"), Scope.admin("42"))));
        assertEquals(Preferences.Delivery.QUIET, muting.live("order.created", List.of(Scope.mall("1"), Scope.ALL)),
                "hidden through the mall, quiet through all: quiet");
        assertEquals(Preferences.Delivery.SHOWN, muting.live("order.created", List.of()), "reached by nothing: not judged");
    }

    @Test
    void defaultsAndCriticalTypesAreReadFromSettingsNamingTheKeyAtFault() {
        InboxPolicy policy = InboxPolicy.from(Settings.of(Map.of("alimi.inbox.default-mutes", "product.qna.*=push+live, *@all=live")));
        assertEquals(List.of(mute("product.qna.*", null, Channel.PUSH, Channel.LIVE), mute(null, "all", Channel.LIVE)), policy.defaults());
        assertEquals(List.of(new TypePattern("fds.alert.raised")), policy.critical());
        assertEquals(List.of(), InboxPolicy.from(Settings.of(Map.of("alimi.inbox.critical-types", ""))).critical());
        for (Map.Entry<String, String> bad : List.of(
                Map.entry("alimi.inbox.default-mutes", "product.qna.*"),
                Map.entry("alimi.inbox.default-mutes", "*=live"),
                Map.entry("alimi.inbox.default-mutes", "x.y=email"),
                Map.entry("alimi.inbox.default-mutes", "*@shop:1=live"),
                Map.entry("alimi.inbox.default-mutes", "fds.alert.raised=push"),
                Map.entry("alimi.inbox.critical-types", "fds*"))) {
            SettingsException e = assertThrows(SettingsException.class, () -> InboxPolicy.from(Settings.of(Map.of(bad.getKey(), bad.getValue()))));
            assertTrue(e.getMessage().contains(bad.getKey()), e.getMessage());
        }
    }
}
