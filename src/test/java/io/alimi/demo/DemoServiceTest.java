package io.alimi.demo;

import io.alimi.auth.Narrowing;
import io.alimi.auth.Profile;
import io.alimi.event.Scope;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoServiceTest {

    /** dev-admin-1-token: admin 1, mall 1. */
    private static final Set<Scope> ADMIN_1 = new Profile("1", Set.of("1"), Optional.empty(), Set.of("operator")).scopes();
    /** dev-partner-7-token: admin 7, mall 1, partner 7. */
    private static final Set<Scope> PARTNER_7 = new Profile("7", Set.of("1"), Optional.of("7"), Set.of("partner")).scopes();

    @Test
    void csvQuotesWhatNeedsQuotingAndDefusesFormulas() {
        byte[] csv = DemoService.csv(List.of(
                new String[] {"orderNo", "product", "amount"},
                new String[] {"A-1", "니트, 가디건", "-1000"},
                new String[] {"=HYPERLINK(\"x\")", "say \"hi\"", "@SUM(A1)"}));
        String text = new String(csv, StandardCharsets.UTF_8);
        assertEquals("\uFEFForderNo,product,amount\r\n"
                + "A-1,\"니트, 가디건\",-1000\r\n"
                + "\"'=HYPERLINK(\"\"x\"\")\",\"say \"\"hi\"\"\",'@SUM(A1)\r\n", text);
    }

    @Test
    void targetsTheAdminIsEntitledToAreSentAsChecked() throws Exception {
        assertEquals("mall:1", DemoService.targets(ADMIN_1, "mall:1"));
        assertEquals("all,admin:1,mall:1", DemoService.targets(ADMIN_1, " all , admin:1,mall:1,mall:1"));
        assertEquals("partner:7,mall:1", DemoService.targets(PARTNER_7, "partner:7,mall:1"));
    }

    @Test
    void aTargetTheAdminIsNotEntitledToIsRefusedByName() {
        Narrowing.NotEntitled otherMall = assertThrows(Narrowing.NotEntitled.class,
                () -> DemoService.targets(ADMIN_1, "mall:1,mall:2,admin:9"));
        assertEquals("scope mall:2 is not one of this admin's scopes", otherMall.getMessage());
        assertEquals("scope admin:2 is not one of this admin's scopes",
                assertThrows(Narrowing.NotEntitled.class, () -> DemoService.targets(ADMIN_1, "admin:2")).getMessage());
        assertEquals("scope partner:7 is not one of this admin's scopes",
                assertThrows(Narrowing.NotEntitled.class, () -> DemoService.targets(ADMIN_1, "partner:7")).getMessage());
        assertEquals("scope partner:8 is not one of this admin's scopes",
                assertThrows(Narrowing.NotEntitled.class, () -> DemoService.targets(PARTNER_7, "all,partner:8")).getMessage());
    }

    @Test
    void targetsThatAreNotScopesAreABadRequest() {
        for (String targets : List.of("", ",", "mall:1,", "mall:1,,mall:1", "shop:2", "mall:2,shop:2")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DemoService.targets(ADMIN_1, targets),
                    targets);
            assertTrue(e.getMessage().startsWith("targets: "), e.getMessage());
        }
    }
}
