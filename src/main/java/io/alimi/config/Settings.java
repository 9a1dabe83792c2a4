package io.alimi.config;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Alimi's settings: one dotted key per setting (e.g. {@code alimi.timeline.max-len}), read typed and validated
 * once at start-up; every error names the key.
 *
 * <p>Where a value comes from, highest first:
 * <ol>
 *   <li>a Java system property with the key itself ({@code -Dalimi.timeline.max-len=5000});</li>
 *   <li>an environment variable: the key upper-cased with {@code .} and {@code -} turned into {@code _}
 *       ({@code ALIMI_TIMELINE_MAX_LEN=5000});</li>
 *   <li>the YAML file named by {@code alimi.config} / {@code ALIMI_CONFIG}, if any;</li>
 *   <li>{@code application.yaml} on the classpath (the documented defaults).</li>
 * </ol>
 * Tests build settings with {@link #of(Map)}: their map replaces system properties and environment.
 */
public final class Settings {

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB)?");
    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private final Config yaml;
    private final Map<String, String> overrides;

    private Settings(Config yaml, Map<String, String> overrides) {
        this.yaml = yaml;
        this.overrides = Map.copyOf(overrides);
    }

    /** Settings of a production process: system properties, environment, optional file, classpath defaults. */
    public static Settings load() {
        Map<String, String> env = System.getenv();
        Map<String, String> overrides = new HashMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith("ALIMI_")) {
                overrides.put(name, value);
            }
        });
        System.getProperties().forEach((k, v) -> {
            String key = k.toString();
            if (key.startsWith("alimi.")) {
                overrides.put(key, v.toString());
            }
        });
        String file = Optional.ofNullable(System.getProperty("alimi.config")).orElse(env.get("ALIMI_CONFIG"));
        return new Settings(yaml(file), overrides);
    }

    /** Settings for tests and tools: {@code values} (dotted keys) over the classpath defaults; no environment. */
    public static Settings of(Map<String, String> values) {
        return new Settings(yaml(null), values);
    }

    /** A copy of these settings with some values replaced (dotted keys). */
    public Settings with(Map<String, String> values) {
        Map<String, String> merged = new HashMap<>(overrides);
        merged.putAll(values);
        return new Settings(yaml, merged);
    }

    private static Config yaml(String file) {
        var builder = Config.builder()
                .disableEnvironmentVariablesSource()
                .disableSystemPropertiesSource();
        if (file != null && !file.isBlank()) {
            Path path = Path.of(file);
            if (!Files.isReadable(path)) {
                throw new SettingsException("alimi.config", "file " + path + " cannot be read");
            }
            builder.addSource(ConfigSources.file(path));
        }
        builder.addSource(ConfigSources.classpath("application.yaml"));
        return builder.build();
    }

    /** The environment variable that sets {@code key}. */
    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** The raw value of {@code key}, if set anywhere. */
    public Optional<String> raw(String key) {
        String value = overrides.get(key);
        if (value == null) {
            value = overrides.get(envName(key));
        }
        if (value != null) {
            return Optional.of(value.trim());
        }
        Config node = yaml.get(key);
        if (!node.exists()) {
            return Optional.empty();
        }
        if (node.isList()) {
            return Optional.of(String.join(",", node.asList(String.class).get()));
        }
        return node.asString().asOptional().map(String::trim);
    }

    public String string(String key, String fallback) {
        return raw(key).filter(v -> !v.isEmpty()).orElse(fallback);
    }

    public Optional<String> optionalString(String key) {
        return raw(key).filter(v -> !v.isEmpty());
    }

    public boolean bool(String key, boolean fallback) {
        Optional<String> value = raw(key).filter(v -> !v.isEmpty());
        if (value.isEmpty()) {
            return fallback;
        }
        return switch (value.get().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new SettingsException(key, "must be true or false, got '" + value.get() + "'");
        };
    }

    public int integer(String key, int fallback, int min, int max) {
        Optional<String> value = raw(key).filter(v -> !v.isEmpty());
        if (value.isEmpty()) {
            return fallback;
        }
        int parsed;
        try {
            parsed = Integer.parseInt(value.get().replace("_", ""));
        } catch (NumberFormatException e) {
            throw new SettingsException(key, "must be a whole number, got '" + value.get() + "'");
        }
        return inRange(key, parsed, min, max);
    }

    /** A size in bytes: {@code 65536}, {@code 64KiB}, {@code 4MiB}. */
    public int bytes(String key, int fallback, int min, int max) {
        Optional<String> value = raw(key).filter(v -> !v.isEmpty());
        if (value.isEmpty()) {
            return fallback;
        }
        Matcher m = SIZE.matcher(value.get());
        if (!m.matches()) {
            throw new SettingsException(key, "must be a size like 65536, 64KiB or 4MiB, got '" + value.get() + "'");
        }
        long n = Long.parseLong(m.group(1));
        long unit = switch (m.group(2) == null ? "B" : m.group(2)) {
            case "KiB" -> 1024L;
            case "MiB" -> 1024L * 1024;
            case "GiB" -> 1024L * 1024 * 1024;
            default -> 1L;
        };
        long bytes = n * unit;
        if (bytes > Integer.MAX_VALUE) {
            throw new SettingsException(key, "must be at most " + max + " bytes, got '" + value.get() + "'");
        }
        return inRange(key, (int) bytes, min, max);
    }

    /** A duration: ISO-8601 ({@code PT15S}, {@code P30D}) or short ({@code 500ms}, {@code 15s}, {@code 24h}, {@code 30d}). */
    public Duration duration(String key, Duration fallback, Duration min, Duration max) {
        Optional<String> value = raw(key).filter(v -> !v.isEmpty());
        if (value.isEmpty()) {
            return fallback;
        }
        Duration parsed = parseDuration(key, value.get());
        if (parsed.compareTo(min) < 0 || parsed.compareTo(max) > 0) {
            throw new SettingsException(key, "must be between " + min + " and " + max + ", got '" + value.get() + "'");
        }
        return parsed;
    }

    private static Duration parseDuration(String key, String text) {
        Matcher m = SHORT_DURATION.matcher(text);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        }
        try {
            return Duration.parse(text);
        } catch (DateTimeParseException e) {
            throw new SettingsException(key, "must be a duration like 500ms, 15s, 24h, 30d or PT15S, got '" + text + "'");
        }
    }

    /** A comma-separated (or YAML list) value, blanks dropped. */
    public List<String> list(String key) {
        List<String> items = new ArrayList<>();
        for (String item : raw(key).orElse("").split(",")) {
            if (!item.isBlank()) {
                items.add(item.trim());
            }
        }
        return List.copyOf(items);
    }

    private static int inRange(String key, int value, int min, int max) {
        if (value < min || value > max) {
            throw new SettingsException(key, "must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }
}
