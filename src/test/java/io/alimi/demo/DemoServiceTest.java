package io.alimi.demo;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DemoServiceTest {

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
}
