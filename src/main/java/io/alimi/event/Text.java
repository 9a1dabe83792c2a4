package io.alimi.event;

import java.util.Locale;

/** Quoting untrusted text in error messages and logs. */
public final class Text {

    private static final int MAX_QUOTED = 80;

    private Text() {
    }

    /**
     * At most 80 characters of {@code text}, with control and line-separator characters shown as {@code \\uXXXX}:
     * an error message or a log line must not be split or forged by what a client sent.
     */
    public static String quote(String text) {
        return quote(text, MAX_QUOTED);
    }

    /** Like {@link #quote(String)} with another length cap. */
    public static String quote(String text, int max) {
        String cut = text.length() > max ? text.substring(0, max) + "…" : text;
        StringBuilder out = new StringBuilder(cut.length() + 2);
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            if (isControl(c)) {
                out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** C0 controls, DEL and the Unicode line and paragraph separators: what may split a line or a field. */
    public static boolean isControl(char c) {
        return c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029';
    }

    /** {@code 65536} as {@code 65,536}. */
    public static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
