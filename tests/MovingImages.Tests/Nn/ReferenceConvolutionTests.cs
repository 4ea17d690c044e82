using System.Diagnostics;
using System.Text.Json.Nodes;
using MovingImages.Nn;

namespace MovingImages.Tests.Nn;

/// <summary>
/// The self-check's reference convolution (plain C#) against NumPy (Debian's python3-numpy): the same numbers, forward
/// and both gradients, for every kind of geometry the library uses — so the reference that judges libtorch is itself
/// judged by code that shares nothing with it.
/// </summary>
public class ReferenceConvolutionTests
{
    const string NumPyConvolution = """
        import json, sys, numpy as np
        d = json.load(sys.stdin)
        N, C, H, W, O, KH, KW = (d[k] for k in ("n", "c", "h", "w", "o", "kh", "kw"))
        sh, sw, ph, pw, dh, dw, G = (d[k] for k in ("sh", "sw", "ph", "pw", "dh", "dw", "groups"))
        x = np.array(d["x"], dtype=np.float64).reshape(N, C, H, W)
        k = np.array(d["k"], dtype=np.float64).reshape(O, C // G, KH, KW)
        b = np.array(d["b"], dtype=np.float64)
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
        OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
        cg, og = C // G, O // G
        g_up = np.array(d["r"], dtype=np.float64)[None, :, None, None] * np.array(d["s"], dtype=np.float64).reshape(N, 1, OH, OW)
        y = np.zeros((N, O, OH, OW)); dxp = np.zeros_like(xp); dk = np.zeros_like(k)
        for g in range(G):
            ci, oi = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
            for a in range(KH):
                for c in range(KW):
                    rows = slice(a * dh, a * dh + sh * (OH - 1) + 1, sh)
                    cols = slice(c * dw, c * dw + sw * (OW - 1) + 1, sw)
                    patch = xp[:, ci, rows, cols]
                    y[:, oi] += np.einsum("nchw,oc->nohw", patch, k[oi, :, a, c])
                    dxp[:, ci, rows, cols] += np.einsum("nohw,oc->nchw", g_up[:, oi], k[oi, :, a, c])
                    dk[oi, :, a, c] += np.einsum("nohw,nchw->oc", g_up[:, oi], patch)
        y += b[None, :, None, None]
        dx = dxp[:, :, ph:ph + H, pw:pw + W]
        print(json.dumps({"y": y.ravel().tolist(), "dx": dx.ravel().tolist(), "dk": dk.ravel().tolist(), "db": g_up.sum(axis=(0, 2, 3)).tolist()}))
        """;

    [Theory]
    [InlineData(2, 5, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1)]    // "same" 3×3
    [InlineData(1, 6, 9, 8, 5, 5, 3, 2, 1, 2, 1, 1, 1, 1)]    // non-square kernel, strides and padding
    [InlineData(2, 4, 8, 8, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1)]    // dilation
    [InlineData(2, 6, 6, 7, 4, 3, 3, 1, 2, 1, 0, 1, 1, 2)]    // two groups
    [InlineData(1, 4, 7, 7, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4)]    // depthwise, stride 2
    [InlineData(1, 3, 5, 5, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1)]    // 1×1
    public void The_reference_computes_what_NumPy_computes(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        var geometry = new ConvGeometry(sh, sw, ph, pw, dh, dw, groups);
        var reference = new ReferenceConvolution(n, c, h, w, o, kh, kw, geometry);
        var (oh, ow) = reference.OutputSize;
        var random = new Random(n * 1000 + c * 100 + o * 10 + kh);
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] x = Values(n * c * h * w), k = Values(o * c / groups * kh * kw), b = Values(o), r = Values(o), s = Values(n * oh * ow);

        var numpy = NumPy(new JsonObject
        {
            ["n"] = n, ["c"] = c, ["h"] = h, ["w"] = w, ["o"] = o, ["kh"] = kh, ["kw"] = kw, ["sh"] = sh, ["sw"] = sw, ["ph"] = ph, ["pw"] = pw,
            ["dh"] = dh, ["dw"] = dw, ["groups"] = groups,
            ["x"] = Json(x), ["k"] = Json(k), ["b"] = Json(b), ["r"] = Json(r), ["s"] = Json(s),
        });
        double[] Numbers(string key) => numpy[key]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

        AssertClose("output", Numbers("y"), reference.Forward(x, k, b).Select(v => (double)v).ToArray());
        AssertClose("input gradient", Numbers("dx"), reference.InputGradient(reference.KernelAlong(k, r), s));
        AssertClose("weight gradient", Numbers("dk"), reference.WeightGradient(reference.WindowsAlong(x, s), r));
        AssertClose("bias gradient", Numbers("db"), ReferenceConvolution.BiasGradient(r, s));
    }

    static JsonArray Json(float[] values) => new(values.Select(v => (JsonNode)v).ToArray());

    static void AssertClose(string what, double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double largest = expected.Max(Math.Abs);
        Assert.True(largest > 0, $"{what}: NumPy computed only zeros");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * largest, $"{what}[{i}]: NumPy {expected[i]}, reference {actual[i]}");
    }

    static JsonNode NumPy(JsonObject input)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", NumPyConvolution])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(input.ToJsonString());
        p.StandardInput.Close();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)), "NumPy did not finish");
        Assert.True(p.ExitCode == 0, $"NumPy failed (is python3-numpy installed?): {stderr.Result}");
        return JsonNode.Parse(stdout.Result)!;
    }
}
