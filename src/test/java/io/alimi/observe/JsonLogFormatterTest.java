package io.alimi.observe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.logging.Level;
import java.util.logging.LogRecord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonLogFormatterTest {

    @Test
    void eachRecordIsOneLineOfJsonWhateverItsMessageHolds() throws Exception {
        LogRecord record = new LogRecord(Level.WARNING, "publish by key ''{0}'' failed:\n{1}");
        record.setParameters(new Object[] {"orders", "line one\r\nline two \"quoted\" \u2028"});
        record.setLoggerName("io.alimi.api.PublishService");
        record.setThrown(new IllegalStateException("boom"));
        String line = new JsonLogFormatter().format(record);
        assertEquals(line.strip(), line.substring(0, line.length() - System.lineSeparator().length()));
        assertTrue(line.strip().indexOf('\n') < 0 && line.strip().indexOf('\r') < 0, line);
        JsonNode json = new ObjectMapper().readTree(line);
        assertEquals("WARNING", json.get("level").asText());
        assertEquals("io.alimi.api.PublishService", json.get("logger").asText());
        assertEquals("publish by key 'orders' failed:\nline one\r\nline two \"quoted\" \u2028", json.get("message").asText());
        assertTrue(json.get("error").asText().startsWith("java.lang.IllegalStateException: boom"));
    }
}
