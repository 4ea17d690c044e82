using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Darknet;

/// <summary>Options for <see cref="SyntheticWeights.Generate"/>.</summary>
/// <param name="Seed">Random seed: the same seed, config and calibration inputs give the same weights.</param>
/// <param name="Confidence">The score threshold the heads are tuned for.</param>
/// <param name="MinFiring">Fewest (cell, anchor) pairs, per calibration image, whose score should pass the threshold.</param>
/// <param name="MaxFiring">Most such pairs per calibration image.</param>
public sealed record SyntheticWeightsOptions(int Seed = 1, float Confidence = 0.5f, int MinFiring = 1, int MaxFiring = 20);

/// <summary>
/// Deterministic, <em>sane</em> weights for any darknet config, for tests, benchmarks and demos where the real
/// weights are not at hand. Kernels are He-scaled; batch-norm statistics are calibrated on real images (so every
/// layer's activations stay near unit scale, like a trained network's); each head predicts boxes near its anchors, one
/// class per anchor with a clear margin, and an objectness offset chosen so that a handful of cells fire on the
/// calibration images, with the threshold placed in the widest gap between scores (no near-ties at the threshold).
/// Such weights detect nothing meaningful; they exercise every number path of the real network.
/// </summary>
public static class SyntheticWeights
{
    /// <summary>Logit of the "active" class per anchor (sigmoid ≈ 0.9997) and of the others (≈ 0.0003).</summary>
    public const float ClassLogit = 8f;

    /// <summary>
    /// Generates weights for <paramref name="config"/>. <paramref name="calibration"/> is an N×3×H×W batch of
    /// letterboxed images (RGB in [0, 1]); without it, batch-norm statistics stay at mean 0 / variance 1 and the
    /// objectness offset is not tuned.
    /// </summary>
    public static DarknetWeights Generate(DarknetConfig config, Tensor? calibration = null, SyntheticWeightsOptions? options = null)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        options ??= new SyntheticWeightsOptions();
        var generator = new Generator((ulong)options.Seed);
        var convs = config.ConvolutionalLayers;
        var inputs = config.ConvolutionInputChannels();
        var headConvs = config.YoloLayers.Select(y => y.Index - 1).ToHashSet();
        var layers = new List<ConvWeights>(convs.Count);
        using (var scope = torch.NewDisposeScope())
        {
            for (int i = 0; i < convs.Count; i++)
            {
                var c = convs[i];
                int fanIn = inputs[i] * c.Size * c.Size;
                var kernel = Runtime.Scalars.Mul(torch.randn([c.Filters, inputs[i], c.Size, c.Size], generator: generator), MathF.Sqrt(2f / fanIn));
                var biases = Runtime.Scalars.Mul(torch.randn(c.Filters, generator: generator), 0.1);
                BatchNormWeights? bn = null;
                if (c.BatchNormalize)
                {
                    var scales = Runtime.Scalars.Add(Runtime.Scalars.Mul(torch.randn(c.Filters, generator: generator), 0.1), 1.0);
                    bn = new BatchNormWeights(ToArray(scales), new float[c.Filters], Enumerable.Repeat(1f, c.Filters).ToArray());
                }
                if (headConvs.Contains(c.Index) && !c.BatchNormalize)
                    (kernel, biases) = ShapeHead(config.YoloLayers.First(y => y.Index == c.Index + 1), kernel);
                layers.Add(new ConvWeights(c.Index, ToArray(biases), bn, ToArray(kernel), inputs[i]));
            }
        }
        var weights = new DarknetWeights(DarknetWeightsHeader.Default, layers);
        if (calibration is null) return weights;
        weights = CalibrateBatchNorm(config, weights, calibration);
        return TuneObjectness(config, weights, calibration, options);
    }

    /// <summary>Scales head rows: x/y ×0.5, w/h ×0.1 (boxes near anchor size), classes ×0.2 with ±8 biases.</summary>
    static (Tensor Kernel, Tensor Bias) ShapeHead(YoloLayer yolo, Tensor kernel)
    {
        int v = yolo.ValuesPerAnchor;
        var rowScale = new float[kernel.shape[0]];
        var rowBias = new float[kernel.shape[0]];
        for (int a = 0; a < yolo.Mask.Count; a++)
        {
            int active = (yolo.Index * 7 + yolo.Mask[a] * 13) % yolo.Classes;
            for (int k = 0; k < v; k++)
            {
                int row = a * v + k;
                (rowScale[row], rowBias[row]) = k switch
                {
                    0 or 1 => (0.5f, 0f),
                    2 or 3 => (0.1f, 0f),
                    4 => (1f, 0f),
                    _ => (0.2f, k - 5 == active ? ClassLogit : -ClassLogit),
                };
            }
        }
        var scaled = kernel * torch.tensor(rowScale).view(-1, 1, 1, 1);
        return (scaled, torch.tensor(rowBias));
    }

    /// <summary>Sets every batch-norm layer's statistics to those of the calibration batch, layer by layer.</summary>
    static DarknetWeights CalibrateBatchNorm(DarknetConfig config, DarknetWeights weights, Tensor calibration)
    {
        using var scope = torch.NewDisposeScope();
        using var net = DarknetNetwork.Create(config, weights, foldBatchNorm: false);
        net.train();
        using (torch.no_grad()) net.call(calibration.to(torch.CPU));
        var blocks = net.ConvBlocks().ToDictionary(b => b.Layer.Index, b => b.Block);
        var calibrated = weights.Layers.Select(l =>
        {
            if (l.BatchNorm is null) return l;
            var bn = blocks[l.LayerIndex].BatchNorm!;
            return l with { BatchNorm = l.BatchNorm with { RollingMean = ToArray(bn.running_mean!), RollingVariance = ToArray(bn.running_var!) } };
        }).ToArray();
        return new DarknetWeights(weights.Header, calibrated);
    }

    /// <summary>
    /// Adds one offset to every objectness bias so that between <see cref="SyntheticWeightsOptions.MinFiring"/> and
    /// <see cref="SyntheticWeightsOptions.MaxFiring"/> (cell, anchor) pairs per image pass the threshold, placing the
    /// threshold in the widest gap between consecutive objectness logits.
    /// </summary>
    static DarknetWeights TuneObjectness(DarknetConfig config, DarknetWeights weights, Tensor calibration, SyntheticWeightsOptions options)
    {
        int n = (int)calibration.shape[0];
        var perImage = Enumerable.Range(0, n).Select(_ => new List<float>()).ToArray();
        using (var scope = torch.NewDisposeScope())
        {
            using var net = DarknetNetwork.Create(config, weights);
            Tensor[] heads;
            using (torch.no_grad()) heads = net.call(calibration.to(torch.CPU));
            for (int h = 0; h < heads.Length; h++)
            {
                var y = config.YoloLayers[h];
                var raw = heads[h];
                var p = raw.view(raw.shape[0], y.Mask.Count, y.ValuesPerAnchor, raw.shape[2], raw.shape[3]);
                for (int i = 0; i < n; i++) perImage[i].AddRange(ToArray(p[i, .., 4].contiguous()));
            }
        }
        // Split the union of logits after its k-th largest value, for the k whose gap to the next value is widest
        // among the splits that leave every image between MinFiring and MaxFiring firing pairs (or, failing that,
        // the first split where every image fires at least once).
        var union = perImage.SelectMany((values, image) => values.Select(v => (Value: v, Image: image)))
            .OrderByDescending(x => x.Value).ToArray();
        var counts = new int[n];
        int best = -1, fallback = -1;
        float bestGap = -1;
        for (int k = 1; k < union.Length && k <= options.MaxFiring * n; k++)
        {
            counts[union[k - 1].Image]++;
            float gap = union[k - 1].Value - union[k].Value;
            if (counts.All(c => c >= 1) && fallback < 0) fallback = k;
            if (counts.All(c => c >= options.MinFiring) && gap > bestGap)
            {
                best = k;
                bestGap = gap;
            }
        }
        if (best < 0) best = fallback > 0 ? fallback : Math.Min(union.Length - 1, options.MinFiring * n);
        float midpoint = (union[best - 1].Value + union[best].Value) / 2;
        float effective = Math.Clamp(options.Confidence / Sigmoid(ClassLogit), 1e-4f, 1 - 1e-4f);
        float offset = MathF.Log(effective / (1 - effective)) - midpoint;

        var heads2 = config.YoloLayers.ToDictionary(y => y.Index - 1);
        var tuned = weights.Layers.Select(l =>
        {
            if (!heads2.TryGetValue(l.LayerIndex, out var y) || l.BatchNorm != null) return l;
            var biases = (float[])l.Biases.Clone();
            for (int a = 0; a < y.Mask.Count; a++) biases[a * y.ValuesPerAnchor + 4] += offset;
            return l with { Biases = biases };
        }).ToArray();
        return new DarknetWeights(weights.Header, tuned);
    }

    static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    static float[] ToArray(Tensor t) => t.detach().to(torch.CPU).contiguous().data<float>().ToArray();
}
