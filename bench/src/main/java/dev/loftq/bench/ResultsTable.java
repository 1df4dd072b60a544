package dev.loftq.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns a JMH JSON result file into a Markdown table with, per benchmark class and parameter set,
 * each method's score and its ratio to a baseline method of the same run: among the methods whose
 * name contains "scalar", "fp32", "exact" or "ejml", the one sharing the longest name prefix with it
 * (quantizeVector → quantizeScalar); the first row when there is none.
 * Usage: java -cp benchmarks.jar dev.loftq.bench.ResultsTable results.json
 */
public final class ResultsTable {
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ResultsTable <jmh-result.json>");
            System.exit(2);
        }
        JsonNode runs = new ObjectMapper().readTree(new File(args[0]));
        Map<String, Map<String, JsonNode>> groups = new LinkedHashMap<>();
        for (JsonNode run : runs) {
            String full = run.get("benchmark").asText();
            String cls = full.substring(0, full.lastIndexOf('.'));
            String params = run.has("params") ? run.get("params").toString() : "";
            groups.computeIfAbsent(cls.substring(cls.lastIndexOf('.') + 1) + " " + params, k -> new LinkedHashMap<>())
                    .put(full.substring(full.lastIndexOf('.') + 1), run);
        }
        System.out.println("| benchmark | params | method | score | ± error | unit | × baseline |");
        System.out.println("|---|---|---|---:|---:|---|---:|");
        for (var g : groups.entrySet()) {
            String[] parts = g.getKey().split(" ", 2);
            for (var e : g.getValue().entrySet()) {
                JsonNode base = baseline(e.getKey(), g.getValue());
                double baseScore = base.get("primaryMetric").get("score").asDouble();
                boolean higherIsBetter = base.get("mode").asText().equals("thrpt");
                JsonNode pm = e.getValue().get("primaryMetric");
                double s = pm.get("score").asDouble();
                double ratio = higherIsBetter ? s / baseScore : baseScore / s;
                System.out.printf("| %s | %s | %s | %.4g | %.2g | %s | %.2f |%n", parts[0], parts[1].replace("|", "/"),
                        e.getKey(), s, pm.get("scoreError").asDouble(), pm.get("scoreUnit").asText(), ratio);
            }
        }
    }

    private static JsonNode baseline(String method, Map<String, JsonNode> group) {
        JsonNode best = null;
        int bestPrefix = -1;
        for (var e : group.entrySet()) {
            String m = e.getKey().toLowerCase();
            if (!(m.contains("scalar") || m.contains("fp32") || m.contains("exact") || m.contains("ejml"))) continue;
            int p = 0;
            while (p < Math.min(m.length(), method.length()) && m.charAt(p) == Character.toLowerCase(method.charAt(p))) p++;
            if (p > bestPrefix) {
                best = e.getValue();
                bestPrefix = p;
            }
        }
        return best != null ? best : group.values().iterator().next();
    }
}
