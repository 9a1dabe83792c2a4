package io.alimi.event;

/**
 * A target scope: who an event is for. Text form {@code all}, {@code mall:<id>}, {@code admin:<id>} or
 * {@code partner:<id>}, where an id is 1 to 64 characters of {@code [A-Za-z0-9_-]}.
 *
 * <p>The id alphabet is deliberately narrow: a scope becomes part of Redis keys (inside a Cluster hash tag,
 * so no braces), of cursors and of log lines, and none of those may be confused by what a producer sends.
 */
public record Scope(Kind kind, String id) implements Comparable<Scope> {

    public static final int MAX_ID_LENGTH = 64;
    public static final Scope ALL = new Scope(Kind.ALL, "");

    /** The kinds of scope, by their text prefix. */
    public enum Kind {
        ALL("all"), MALL("mall"), ADMIN("admin"), PARTNER("partner");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Kind of(String label) {
            for (Kind kind : values()) {
                if (kind.label.equals(label)) {
                    return kind;
                }
            }
            return null;
        }
    }

    public Scope {
        if (kind == Kind.ALL ? !id.isEmpty() : !validId(id)) {
            throw new IllegalArgumentException("invalid " + kind.label + " id");
        }
    }

    public static Scope mall(String id) {
        return new Scope(Kind.MALL, id);
    }

    public static Scope admin(String id) {
        return new Scope(Kind.ADMIN, id);
    }

    public static Scope partner(String id) {
        return new Scope(Kind.PARTNER, id);
    }

    /**
     * Parses the text form.
     *
     * @throws IllegalArgumentException with a message that quotes the text and names the rule it breaks
     */
    public static Scope parse(String text) {
        if (text.equals("all")) {
            return ALL;
        }
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("'" + Text.quote(text)
                    + "' is not a scope; use all, mall:<id>, admin:<id> or partner:<id>");
        }
        Kind kind = Kind.of(text.substring(0, colon));
        if (kind == null || kind == Kind.ALL) {
            throw new IllegalArgumentException("'" + Text.quote(text) + "' has an unknown scope kind '"
                    + Text.quote(text.substring(0, colon)) + "'; use mall, admin or partner");
        }
        String id = text.substring(colon + 1);
        if (!validId(id)) {
            throw new IllegalArgumentException("'" + Text.quote(text) + "' has an invalid id; an id is 1 to "
                    + MAX_ID_LENGTH + " characters of A-Z a-z 0-9 _ -");
        }
        return new Scope(kind, id);
    }

    /**
     * The scopes of a stored, comma-separated target list ({@code mall:1,admin:42}), leaving out whatever does not
     * read as one (anything with write access to Redis could have written the list); null reads as none.
     */
    public static java.util.List<Scope> readStored(String text) {
        java.util.List<Scope> scopes = new java.util.ArrayList<>(2);
        if (text != null) {
            for (String item : text.split(",")) {
                try {
                    scopes.add(parse(item.strip()));
                } catch (IllegalArgumentException ignored) {
                    // not a scope: nobody is reached through it
                }
            }
        }
        return scopes;
    }

    public static boolean validId(String id) {
        int n = id.length();
        if (n == 0 || n > MAX_ID_LENGTH) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return kind == Kind.ALL ? "all" : kind.label + ":" + id;
    }

    @Override
    public int compareTo(Scope other) {
        int byKind = kind.compareTo(other.kind);
        return byKind != 0 ? byKind : id.compareTo(other.id);
    }
}
