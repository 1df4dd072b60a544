package dev.loftq.cli;

import java.util.Locale;

/** Byte sizes written as 512m, 4g, 1.5g, 100000. */
final class Sizes {
    private Sizes() {}

    static long parse(String s, String option) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        if (t.endsWith("b")) t = t.substring(0, t.length() - 1);
        switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'k' -> mult = 1L << 10;
            case 'm' -> mult = 1L << 20;
            case 'g' -> mult = 1L << 30;
            case 't' -> mult = 1L << 40;
            default -> { }
        }
        if (mult > 1) t = t.substring(0, t.length() - 1);
        try {
            double v = Double.parseDouble(t);
            if (v > 0 && v * mult < Long.MAX_VALUE) return (long) (v * mult);
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " must be a positive size such as 512m or 4g, got '" + s + "'");
    }
}
