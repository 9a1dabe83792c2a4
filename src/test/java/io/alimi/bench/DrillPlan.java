package io.alimi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Who the drill's clients are and where each event goes, so that every client has a known expected set.
 *
 * <p>Client {@code i} is admin {@code i} of mall {@code i % MALLS}; every fourth one is also a user of a partner
 * that sells in that mall (partner {@code p} sells in mall {@code (p % 5) * 4}: two partners in each of malls 0,
 * 4, 8, 12, 16). It follows {@code all}, its mall, {@code admin:<i>} and its partner, if any.
 *
 * <p>Event {@code k} goes, by {@code k % 20}: to {@code all} (0: a notice; every other notice is also sent to a
 * mall, so its clients get two copies of it and must be handed it once), to a partner and the mall it sells in
 * (1, 6, 11, 16: product Q&amp;A; the partner's users follow both, so they get two copies of each), to one admin
 * (2, 7: an export is ready), to a mall and one of its admins (3, 8, 13: a claim, again two copies for that
 * admin), to a mall otherwise (orders). Malls, partners and admins are drawn from a seeded random sequence, the
 * same for every run.
 */
final class DrillPlan {

    static final int MALLS = 20;
    static final int PARTNERS = 10;
    private static final int[] NONE = new int[0];

    /** Where one event goes. */
    record Targets(String text, String type, boolean all, int[] malls, int[] admins, int[] partners) {
        /** The Kafka record key: what must stay in order (its mall, or the admin for an admin-only event). */
        String key() {
            return malls.length > 0 ? "mall:" + malls[0] : admins.length > 0 ? "admin:" + admins[0] : "all";
        }
    }

    private final int clients;
    private final Targets[] events;
    private final String idPrefix;

    /**
     * @param clients   how many clients (admins)
     * @param maxEvents the most events a run may publish
     * @param idPrefix  prefix of the CloudEvents ids, unique per run
     */
    DrillPlan(int clients, int maxEvents, String idPrefix) {
        if (clients < MALLS) {
            throw new IllegalArgumentException("at least " + MALLS + " clients");
        }
        this.clients = clients;
        this.idPrefix = idPrefix;
        this.events = new Targets[maxEvents];
        SplittableRandom random = new SplittableRandom(20261125L);
        for (int k = 0; k < maxEvents; k++) {
            events[k] = targets(k, random);
        }
    }

    private Targets targets(int k, SplittableRandom random) {
        int mall = random.nextInt(MALLS);
        int partner = random.nextInt(PARTNERS);
        int admin = random.nextInt(clients);
        // An admin of that mall: i ≡ mall (mod MALLS); there are at least MALLS clients.
        int adminOfMall = random.nextInt(clients / MALLS) * MALLS + mall;
        return switch (k % 20) {
            case 0 -> (k / 20) % 2 == 0
                    ? new Targets("all", "notice.published", true, NONE, NONE, NONE)
                    : new Targets("all,mall:" + mall, "notice.published", true, new int[] {mall}, NONE, NONE);
            case 1, 6, 11, 16 -> new Targets("mall:" + mallOfPartner(partner) + ",partner:" + partner, "product.qna.created",
                    false, new int[] {mallOfPartner(partner)}, NONE, new int[] {partner});
            case 2, 7 -> new Targets("admin:" + admin, "excel.export.completed", false, NONE, new int[] {admin}, NONE);
            case 3, 8, 13 -> new Targets("mall:" + mall + ",admin:" + adminOfMall, "claim.requested", false,
                    new int[] {mall}, new int[] {adminOfMall}, NONE);
            default -> new Targets("mall:" + mall, "order.created", false, new int[] {mall}, NONE, NONE);
        };
    }

    int clients() {
        return clients;
    }

    int maxEvents() {
        return events.length;
    }

    Targets targets(int k) {
        return events[k];
    }

    static int mallOf(int client) {
        return client % MALLS;
    }

    /** The partner of a client, or -1: every fourth client, one of the two partners selling in its mall. */
    static int partnerOf(int client) {
        return client % 4 == 0 ? (client % MALLS) / 4 + 5 * ((client / MALLS) % 2) : -1;
    }

    /** The mall partner {@code p} sells in. */
    static int mallOfPartner(int partner) {
        return (partner % 5) * 4;
    }

    /** Whether client {@code c} follows a scope event {@code k} was sent to. */
    boolean expects(int c, int k) {
        Targets t = events[k];
        if (t.all) {
            return true;
        }
        int mall = mallOf(c);
        for (int m : t.malls) {
            if (m == mall) {
                return true;
            }
        }
        for (int a : t.admins) {
            if (a == c) {
                return true;
            }
        }
        int partner = partnerOf(c);
        if (partner >= 0) {
            for (int p : t.partners) {
                if (p == partner) {
                    return true;
                }
            }
        }
        return false;
    }

    String eventId(int k) {
        return idPrefix + k;
    }

    /** Event {@code k} as a structured CloudEvent; {@code data.t} is the publish time (epoch milliseconds). */
    String json(int k) {
        Targets t = events[k];
        return "{\"specversion\":\"1.0\",\"id\":\"" + eventId(k) + "\",\"source\":\"/drill\",\"type\":\"" + t.type()
                + "\",\"targets\":\"" + t.text() + "\",\"datacontenttype\":\"application/json\",\"data\":{\"k\":" + k
                + ",\"t\":" + System.currentTimeMillis() + ",\"note\":\"페일오버 훈련\"}}";
    }

    static String token(int client) {
        return "drill-admin-" + client + "-token";
    }

    /** The development tokens file the relays read: one admin per client. */
    void writeTokens(Path file) throws IOException {
        StringBuilder json = new StringBuilder(clients * 80).append('{');
        for (int i = 0; i < clients; i++) {
            json.append(i == 0 ? "" : ",").append('"').append(token(i)).append("\":{\"adminNo\":\"").append(i)
                    .append("\",\"malls\":[\"").append(mallOf(i)).append("\"]");
            if (partnerOf(i) >= 0) {
                json.append(",\"partner\":\"").append(partnerOf(i)).append('"');
            }
            json.append('}');
        }
        Files.writeString(file, json.append('}').toString());
    }
}
