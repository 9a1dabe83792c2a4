package io.alimi.limit;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sustained rate and a burst: {@code burst} at once from a full bucket, then {@code perSecond}.
 *
 * <p>Written in configuration as {@code <number>/s}, {@code <number>/min} or {@code <number>/h} ({@code 10/s},
 * {@code 6/min}); the burst has a setting of its own.
 */
public record Rate(double perSecond, int burst) {

    private static final Pattern TEXT = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*/\\s*(s|min|h)");

    public Rate {
        if (!(perSecond > 0) || Double.isInfinite(perSecond) || burst < 1) {
            throw new IllegalArgumentException("a rate and its burst must be positive");
        }
    }

    /**
     * @throws IllegalArgumentException saying what a rate looks like
     */
    public static double parsePerSecond(String text) {
        Matcher matcher = TEXT.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a rate: write a number per second, minute or "
                    + "hour, as 10/s, 6/min or 100/h");
        }
        double count = Double.parseDouble(matcher.group(1));
        double perSecond = switch (matcher.group(2)) {
            case "s" -> count;
            case "min" -> count / 60;
            default -> count / 3600;
        };
        if (!(perSecond > 0)) {
            throw new IllegalArgumentException("'" + text + "' is not a rate above zero");
        }
        return perSecond;
    }

    /** As written in configuration ({@code 10/s}, or per minute or hour when below 1/s). */
    @Override
    public String toString() {
        if (perSecond >= 1) {
            return format(perSecond) + "/s";
        }
        if (perSecond * 60 >= 1) {
            return format(perSecond * 60) + "/min";
        }
        return format(perSecond * 3600) + "/h";
    }

    private static String format(double value) {
        double rounded = Math.round(value * 1000) / 1000.0;
        return rounded == Math.rint(rounded) ? Long.toString((long) rounded) : Double.toString(rounded);
    }
}
