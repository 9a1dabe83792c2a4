package io.alimi.timeline;

import io.alimi.event.EventId;
import io.alimi.event.Scope;
import io.lettuce.core.cluster.SlotHash;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KeysTest {

    @Test
    void onASingleRedisEachScopeIsItsOwnHashTag() {
        Keys keys = new Keys("alimi:");
        assertEquals("alimi:tl:{mall:1}", keys.stream(Scope.mall("1")));
        assertEquals("alimi:tl:{mall:1}:sid:" + new EventId("/orders", "e-1").keyText(),
                keys.dedup(Scope.mall("1"), new EventId("/orders", "e-1")));
        assertEquals("alimi:tl:{mall:1}:ev:e-1", keys.legacyDedup(Scope.mall("1"), "e-1"));
        assertEquals("alimi:tl:{mall:1}:ev:e-1", keys.dedup(Scope.mall("1"), new EventId(null, "e-1")));
    }

    @Test
    void inAClusterAScopesKeysShareItsShardsSlotAndTheShardNeverChanges() {
        Keys keys = new Keys("alimi:", 32);
        Scope mall = Scope.mall("1");
        // CRC-32("mall:1") mod 32 = 6: fixed by the key format, whatever the JVM or version.
        assertEquals("alimi:tl:{s6}:mall:1", keys.stream(mall));
        int slot = SlotHash.getSlot(keys.stream(mall));
        assertEquals(slot, SlotHash.getSlot(keys.meta(mall)));
        assertEquals(slot, SlotHash.getSlot(keys.dedup(mall, new EventId("/orders", "e-1"))));
        assertEquals(slot, SlotHash.getSlot(keys.legacyDedup(mall, "e-1")));
    }

    @Test
    void scopesSpreadOverEveryShard() {
        Keys keys = new Keys("alimi:", 32);
        Set<Integer> shards = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            shards.add(keys.shard(Scope.admin(Integer.toString(i))));
        }
        assertEquals(32, shards.size());
    }

    @Test
    void aPrefixWithBracesOrAShardCountOutOfRangeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Keys("a{b}:"));
        assertThrows(IllegalArgumentException.class, () -> new Keys("alimi:", -1));
        assertThrows(IllegalArgumentException.class, () -> new Keys("alimi:", 16_385));
    }
}
