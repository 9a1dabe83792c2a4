package io.alimi.observe;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.alimi.event.EventJson;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * One JSON object per line ({@code alimi.log.format=json}): {@code time}, {@code level}, {@code logger},
 * {@code thread}, {@code message} and, for a failure, {@code error} with its stack trace. Whatever a message
 * contains, the line stays one line of valid JSON.
 */
public final class JsonLogFormatter extends Formatter {

    @Override
    public String format(LogRecord record) {
        ObjectNode line = EventJson.mapper().createObjectNode();
        line.put("time", Instant.ofEpochMilli(record.getMillis()).toString());
        line.put("level", record.getLevel().getName());
        line.put("logger", record.getLoggerName());
        line.put("thread", Thread.currentThread().getName());
        line.put("message", formatMessage(record));
        if (record.getThrown() != null) {
            StringWriter trace = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(trace));
            line.put("error", trace.toString());
        }
        return new String(EventJson.bytes(line), StandardCharsets.UTF_8) + System.lineSeparator();
    }
}
