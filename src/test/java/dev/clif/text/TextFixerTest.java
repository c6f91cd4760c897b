package dev.clif.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The ftfy port against outputs of ftfy 6.1.1's fix_text (the examples of its documentation and some edge
 * cases: entities, numeric references, mojibake in several encodings, a0 restoration, lossy sequences).
 */
class TextFixerTest {

    /** {input, ftfy 6.1.1 fix_text(input)}. */
    private static final String[][] FIX_TEXT = {
                {"\u00e2\u0153\u201d No problems", "\u2714 No problems"},
                {"&macr;\\_(\u00e3\u0083\u0084)_/&macr;", "\u00af\\_(\u30c4)_/\u00af"},
                {"Broken text&hellip; it&#x2019;s \ufb02ubberi\ufb01c!", "Broken text\u2026 it's flubberific!"},
                {"\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33", "LOUD NOISES"},
                {"\uff35\uff80\uff70\uff9d", "U\u30bf\u30fc\u30f3"},
                {"s\u00c3\u00b3", "s\u00f3"},
                {"voil\u00c3  le travail", "voil\u00e0 le travail"},
                {"sch\u00c3\u00b6n", "sch\u00f6n"},
                {"P&EACUTE;REZ", "P\u00c9REZ"},
                {"BUNDESSTRA&SZLIG;E", "BUNDESSTRASSE"},
                {"&ntilde; &Ntilde; &NTILDE; &nTILDE;", "\u00f1 \u00d1 \u00d1 &nTILDE;"},
                {"&Jscr;ohn &HilbertSpace;ancock", "\ud835\udca5ohn \u210bancock"},
                {"this&not that", "this&not that"},
                {"&#59; &#0; &#x80; &#xD800; &#1114112; &#65535; &#12ab; &#xZZ;", "&#59; \ufffd \u20ac \ufffd \ufffd  &#12ab; &#xZZ;"},
                {"<p>&amp;</p>\n&amp;", "<p>&amp;</p>\n&amp;"},
                {"\u001b[36;44mI'm blue\u001b[0m", "I'm blue"},
                {"\ufb02u\ufb03e\ufb06", "fluffiest"},
                {"This string is made of two things:\u2029 1. Unicode\u2028 2. Spite", "This string is made of two things:\n 1. Unicode\n 2. Spite"},
                {"Content-type: text/plain\r\n\r\nHi.", "Content-type: text/plain\n\nHi."},
                {"\u00e2\u20ac\u0153 like this \u00e2\u20ac\ufffd", "\" like this \ufffd"},
                {"\u00c3 la mode", "\u00e0 la mode"},
                {"The Mona Lisa doesn\u00c3\u00a2\u00e2\u201a\u00ac\u00e2\u201e\u00a2t have eyebrows.", "The Mona Lisa doesn't have eyebrows."},
                {"\u00d0\u00bf\u00d0\u00be\u00d1\u0081\u00d0\u00bb\u00d0\u00b5\u00d0\u00b4\u00d0\u00bd\u00d0\u00b8\u00d0\u00b9", "\u043f\u043e\u0441\u043b\u0435\u0434\u043d\u0438\u0439"},
                {"caf\u00c3\u00a9 \u00e2\u20ac\u201c Sch\u00c3\u00b6n", "caf\u00e9 \u2013 Sch\u00f6n"},
                {"\u00c3\u00a0 la carte", "\u00e0 la carte"},
                {"\u00e2\u20ac\u2122s", "'s"},
                {"l\u2019humanit\u00e9", "l'humanit\u00e9"},
                {"\u00c2\u00a0non-breaking", "\u00a0non-breaking"},
                {"\u00c2\u00b5m\u00c2\u00b2", "\u00b5m\u00b2"},
                {"\ufeffBOM", "BOM"},
                {"a\u200bb\u200dc", "a\u200bb\u200dc"},
                {"x\udce9y", "x\ufffdy"},    };

    @Test
    void fixTextMatchesFtfy() {
        for (String[] c : FIX_TEXT) {
            assertEquals(c[1], TextFixer.fixText(c[0]), () -> "fix_text of \"" + c[0] + "\"");
        }
    }

    @Test
    void fixingIsIdempotentOnFixedText() {
        for (String[] c : FIX_TEXT) {
            assertEquals(c[1], TextFixer.fixText(c[1]), () -> "fix_text of fixed \"" + c[1] + "\"");
        }
    }

    @Test
    void htmlIsLeftAloneOnceALineHoldsATag() {
        // '<' in the first line turns entity decoding off for that line and the ones after it
        assertEquals("a & b\n<i>&amp;</i>\n&amp;", TextFixer.fixText("a &amp; b\n<i>&amp;</i>\n&amp;"));
        assertEquals("&", TextFixer.fixText("&amp;amp;"));
    }

    @Test
    void badnessHeuristic() {
        assertTrue(Badness.isBad("caf\u00c3\u00a9"));
        assertTrue(Badness.isBad("\u00e2\u20ac\u0153"));
        assertFalse(Badness.isBad("caf\u00e9 na\u00efve r\u00e9sum\u00e9"));
        assertFalse(Badness.isBad("\u00c5ngstr\u00f6m, \u00d8resund, \u00c6sir, \u00df"));
    }

    @Test
    void utf8DecodingFollowsPythonsStrictRules() {
        assertEquals("\u00e9", Utf8.decode(new byte[] {(byte) 0xC3, (byte) 0xA9}));
        assertEquals(null, Utf8.decode(new byte[] {(byte) 0xC0, (byte) 0x80})); // overlong
        assertEquals(null, Utf8.decode(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})); // surrogate
        assertEquals(null, Utf8.decode(new byte[] {(byte) 0xE2, (byte) 0x82})); // truncated
        assertEquals(null, Utf8.decode(new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}));
        // utf-8-variants: Java's null and CESU-8 pairs
        assertEquals("a\0b", Utf8.decodeVariants(new byte[] {'a', (byte) 0xC0, (byte) 0x80, 'b'}));
        assertEquals("\ud83d\ude00", Utf8.decodeVariants(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0xBD,
                (byte) 0xED, (byte) 0xB8, (byte) 0x80}));
        assertEquals(null, Utf8.decodeVariants(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0xBD}));
    }

    @Test
    void cleanerCollapsesWhitespaceAndLowerCases() {
        assertEquals("tabs and newlines mixed", TextCleaner.clean(" Tabs\tand\nNEWLINES\r\n mixed\u3000 "));
        assertEquals("", TextCleaner.clean("   \n\t  "));
        assertEquals("zero\u200bwidth", TextCleaner.clean("zero\u200bwidth"));
        // Python's final-sigma rule (Java's own differs where punctuation sits between letters)
        assertEquals("\u03bf\u03b4\u03bf\u03c2 \u03c3\u03b1\u03c2", TextCleaner.clean("\u039f\u0394\u039f\u03a3 \u03a3\u0391\u03a3"));
        assertEquals("\u00ef\u03c2\u2015\u00fc", TextCleaner.pythonLower("\u00cf\u03a3\u2015\u00dc"));
        assertEquals("a\u03c3\u0301b", TextCleaner.pythonLower("A\u03a3\u0301B"));
        assertEquals("i\u0307stanbul", TextCleaner.pythonLower("\u0130STANBUL"));
    }
}
