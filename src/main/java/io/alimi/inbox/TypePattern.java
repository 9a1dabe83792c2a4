package io.alimi.inbox;

/**
 * Event types a preference names: one type ({@code product.qna.created}) or every type under a prefix
 * ({@code product.*}: {@code product.qna.created}, {@code product.approval.completed}, not {@code products.x}).
 *
 * @param text as given; a prefix pattern ends with {@code .*}
 */
public record TypePattern(String text) {

    /** As long as an event type may be. */
    public static final int MAX_LENGTH = 256;

    /**
     * @throws IllegalArgumentException naming what is wrong: not printable ASCII, too long, a {@code *} anywhere
     *                                  but in a final {@code .*}
     */
    public TypePattern {
        if (text == null || text.isEmpty() || text.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("must be an event type of 1 to " + MAX_LENGTH + " characters, or a prefix ending in .*");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                throw new IllegalArgumentException("must be printable ASCII without spaces");
            }
        }
        int star = text.indexOf('*');
        if (star >= 0 && (star != text.length() - 1 || !text.endsWith(".*") || text.length() < 3)) {
            throw new IllegalArgumentException("'" + text + "': a * may only end a prefix, as in product.*");
        }
    }

    public boolean matches(String type) {
        if (isPrefix()) {
            // "product.*" keeps the dot: product.qna.created, not products.x
            return type.length() > text.length() - 1 && type.startsWith(prefix());
        }
        return text.equals(type);
    }

    /** Whether every type this names is also named by {@code other}. */
    boolean within(TypePattern other) {
        if (!other.isPrefix()) {
            return !isPrefix() && text.equals(other.text);
        }
        String prefix = other.prefix();
        return isPrefix() ? prefix().startsWith(prefix) : other.matches(text);
    }

    private boolean isPrefix() {
        return text.endsWith(".*");
    }

    /** {@code product.} of {@code product.*} */
    private String prefix() {
        return text.substring(0, text.length() - 1);
    }

    @Override
    public String toString() {
        return text;
    }
}
