package dev.loftq.pipeline;

import dev.loftq.io.TensorInfo;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Which weights get a LoRA adapter, and at how many bits. */
public final class Targets {
    private Targets() {}

    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layers|layer|h|blocks|block)\\.(\\d+)\\.");

    /**
     * PEFT semantics: {@code all-linear} = every 2-D floating-point {@code *.weight} except embeddings and the
     * output head; otherwise a comma-separated list of module-name suffixes ({@code q_proj,v_proj} or
     * {@code attention.self.query}) matched at a dot boundary.
     */
    public static List<TensorInfo> select(List<TensorInfo> all, String spec) {
        List<TensorInfo> out = new ArrayList<>();
        boolean allLinear = spec.equals("all-linear");
        List<String> suffixes = allLinear ? List.of() : List.of(spec.split(","));
        for (TensorInfo t : all) {
            if (!isLinearWeight(t)) continue;
            String module = module(t.name());
            if (allLinear ? !isEmbeddingOrHead(module) : suffixes.stream().map(String::trim).anyMatch(s -> !s.isEmpty()
                    && (module.equals(s) || module.endsWith("." + s)))) {
                out.add(t);
            }
        }
        return out;
    }

    /** A 2-D floating-point tensor named *.weight. */
    public static boolean isLinearWeight(TensorInfo t) {
        return t.isMatrix() && t.dtype().isFloat() && t.name().endsWith(".weight") && t.shape()[0] > 0 && t.shape()[1] > 0;
    }

    static boolean isEmbeddingOrHead(String module) {
        String last = module.substring(module.lastIndexOf('.') + 1);
        return module.contains("embed") || last.equals("lm_head") || last.equals("wte") || last.equals("wpe")
                || module.equals("output") || last.equals("embed_out");
    }

    /** "encoder.layer.0.attention.self.query.weight" → "encoder.layer.0.attention.self.query". */
    public static String module(String weightName) {
        return weightName.endsWith(".weight") ? weightName.substring(0, weightName.length() - ".weight".length()) : weightName;
    }

    /** The integer after "layers." / "layer." / "h." / "blocks." in the name, or -1. */
    public static int layerIndex(String name) {
        Matcher m = LAYER.matcher(name);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /**
     * Bits for a tensor. A whole number applies to all; an average b with 2 &lt; b &lt; 4 gives 4 bits to layers
     * 0 .. floor(L·(b−2)/2) − 1 and 2 bits to the rest (LoftQ's mixed precision); L = numLayers.
     */
    public static int bitsFor(String name, double bits, int numLayers) {
        if (bits == Math.rint(bits)) return (int) bits;
        int fourBitLayers = (int) Math.floor(numLayers * (bits - 2) / 2);
        int idx = layerIndex(name);
        return idx >= 0 && idx < fourBitLayers ? 4 : 2;
    }

    /** PEFT target_modules: the distinct last name parts when they select exactly these modules. */
    public static Object targetModules(List<TensorInfo> targets, List<TensorInfo> all) {
        Set<String> lasts = new LinkedHashSet<>();
        for (TensorInfo t : targets) {
            String m = module(t.name());
            lasts.add(m.substring(m.lastIndexOf('.') + 1));
        }
        Set<String> targetNames = new java.util.HashSet<>();
        for (TensorInfo t : targets) targetNames.add(t.name());
        for (TensorInfo t : all) {
            if (!isLinearWeight(t) || targetNames.contains(t.name())) continue;
            String m = module(t.name());
            if (lasts.contains(m.substring(m.lastIndexOf('.') + 1))) {
                // A non-target shares a short name: name every module exactly (PEFT full-matches a string as a regex).
                StringBuilder re = new StringBuilder();
                for (TensorInfo x : targets) re.append(re.isEmpty() ? "" : "|").append(Pattern.quote(module(x.name())));
                return re.toString();
            }
        }
        return new ArrayList<>(lasts);
    }
}
