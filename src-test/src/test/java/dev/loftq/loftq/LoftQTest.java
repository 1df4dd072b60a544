package dev.loftq.loftq;

import dev.loftq.MiniLm;
import dev.loftq.quant.Codebook;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.ForkJoinPool;

import static org.junit.jupiter.api.Assertions.*;

/** LoftQ on the 36 real all-MiniLM-L6-v2 matrices, against the PEFT 0.19 figures in DESIGN.md §6. */
class LoftQTest {
    record Run(double qlora, double t1, double t5, double[] perMatrixQlora, double[] perMatrixFinal) {}

    static Run run(LoftQConfig cfg) {
        List<MiniLm.Matrix> mats = MiniLm.matrices();
        assertEquals(36, mats.size());
        double q = 0, t1 = 0, t5 = 0;
        double[] pq = new double[mats.size()], pf = new double[mats.size()];
        for (int i = 0; i < mats.size(); i++) {
            MiniLm.Matrix m = mats.get(i);
            LoftQResult r = LoftQ.initialize(m.w(), m.rows(), m.cols(), cfg);
            q += r.errorQlora();
            t1 += r.errors()[0];
            t5 += r.error();
            pq[i] = r.errorQlora();
            pf[i] = r.error();
            for (int t = 1; t < r.errors().length; t++) {
                assertTrue(r.errors()[t] <= r.errors()[t - 1] * 1.002, m.name() + " error rose at iteration " + t);
            }
        }
        int n = mats.size();
        return new Run(q / n, t1 / n, t5 / n, pq, pf);
    }

    static void assertClose(double expected, double actual, String what) {
        assertEquals(expected, actual, expected * 5e-4, what + ": " + actual + " vs reference " + expected);
    }

    @Test
    void nf4ExactMatchesPeftAndRandomizedStaysWithinHalfAPercent() {
        LoftQConfig base = LoftQConfig.defaults().withIters(5);
        Run exact = run(base.withSvd(LoftQConfig.SvdMethod.EXACT));
        assertClose(0.0938, exact.qlora(), "QLoRA-init NF4");
        assertClose(0.0864, exact.t1(), "LoftQ NF4 r16 T1");
        assertClose(0.0783, exact.t5(), "LoftQ NF4 r16 T5");
        for (int i = 0; i < 36; i++) assertTrue(exact.perMatrixFinal()[i] < exact.perMatrixQlora()[i]);

        Run randomized = run(base);
        assertEquals(exact.qlora(), randomized.qlora(), 1e-12);
        assertTrue(randomized.t5() <= exact.t5() * 1.005, "randomized " + randomized.t5() + " vs exact " + exact.t5());
        assertTrue(randomized.t5() < randomized.t1());
        for (int i = 0; i < 36; i++) assertTrue(randomized.perMatrixFinal()[i] < randomized.perMatrixQlora()[i]);
    }

    @Test
    void nf2ExactMatchesPeftAndRandomizedStaysWithinHalfAPercent() {
        LoftQConfig base = LoftQConfig.defaults().withCodebook(Codebook.normalFloat(2)).withIters(5);
        Run exact = run(base.withSvd(LoftQConfig.SvdMethod.EXACT));
        assertClose(0.5695, exact.qlora(), "QLoRA-init NF2");
        assertClose(0.4719, exact.t5(), "LoftQ NF2 r16 T5");
        Run randomized = run(base);
        assertTrue(randomized.t5() <= exact.t5() * 1.005, "randomized " + randomized.t5() + " vs exact " + exact.t5());
    }

    @Test
    void alphaIsCompensatedSoTheReconstructionDoesNotDependOnIt() {
        MiniLm.Matrix m = MiniLm.matrices().get(4);
        LoftQConfig cfg = LoftQConfig.defaults().withIters(2);
        float[] plain = reconstruct(LoftQ.initialize(m.w(), m.rows(), m.cols(), cfg), m);
        for (LoftQConfig other : List.of(cfg.withAlpha(32), cfg.withAlpha(7), cfg.withRslora(true).withAlpha(64))) {
            LoftQResult r = LoftQ.initialize(m.w(), m.rows(), m.cols(), other);
            assertNotEquals(1f, r.scaling());
            float[] rec = reconstruct(r, m);
            for (int i = 0; i < rec.length; i++) assertEquals(plain[i], rec[i], 1e-5f, "element " + i);
        }
    }

    /** Q + s·B·A, computed plainly. */
    static float[] reconstruct(LoftQResult r, MiniLm.Matrix m) {
        float[] q = r.q().dequantize();
        int k = r.rank();
        for (int i = 0; i < m.rows(); i++)
            for (int j = 0; j < m.cols(); j++) {
                double acc = 0;
                for (int c = 0; c < k; c++) acc += r.b()[i * k + c] * (double) r.a()[c * m.cols() + j];
                q[i * m.cols() + j] += (float) (r.scaling() * acc);
            }
        return q;
    }

    @Test
    void sameBytesForOneThreadAndMany() throws Exception {
        MiniLm.Matrix m = MiniLm.matrices().get(5);   // 384x1536
        LoftQConfig cfg = LoftQConfig.defaults().withIters(3).withDoubleQuant(true);
        LoftQResult many = LoftQ.initialize(m.w(), m.rows(), m.cols(), cfg);
        ForkJoinPool one = new ForkJoinPool(1);
        LoftQResult single = one.submit(() -> LoftQ.initialize(m.w(), m.rows(), m.cols(), cfg)).get();
        one.shutdown();
        assertArrayEquals(many.q().packed(), single.q().packed());
        assertArrayEquals(many.q().scales(), single.q().scales());
        assertArrayEquals(many.a(), single.a());
        assertArrayEquals(many.b(), single.b());
    }

    @Test
    void configRejectsNonsense() {
        LoftQConfig d = LoftQConfig.defaults();
        assertThrows(IllegalArgumentException.class, () -> d.withRank(0));
        assertThrows(IllegalArgumentException.class, () -> d.withIters(0));
        assertThrows(IllegalArgumentException.class, () -> d.withAlpha(-1));
        assertThrows(IllegalArgumentException.class, () -> d.withBlockSize(100));
        assertEquals(2f, d.withAlpha(32).scaling());
        assertEquals(8f, d.withAlpha(32).withRslora(true).scaling());
    }
}
