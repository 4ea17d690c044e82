using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Nn;

/// <summary>How many classes of convolutions a sweep checks.</summary>
public enum SweepExtent
{
    /// <summary>About a hundred classes around 16 channels, in about a second (the notebooks' setup cell).</summary>
    Quick,
    /// <summary>Channels 1–256, kernels 1/3/5/7, strides 1/2, float32 and bfloat16, forward and training, both memory orders, dilation and groups (the test suite).</summary>
    Standard,
    /// <summary>Standard and every combination of type, direction and memory order for each, other output widths and no padding (<c>movingimages doctor</c>).</summary>
    Full,
}

/// <summary>One class of the sweep: every route tried on it.</summary>
/// <param name="Shape">The class.</param>
/// <param name="Trials">One trial per route that applies, in the router's order.</param>
public sealed record SweepResult(ConvShape Shape, IReadOnlyList<ConvTrial> Trials)
{
    /// <summary>libtorch's own convolution.</summary>
    public ConvTrial Native => Trials.First(t => t.Route == ConvRoute.Native);

    /// <summary>The route the router takes (the first right one); null when none is right.</summary>
    public ConvRoute? Route => Trials.FirstOrDefault(t => t.Right)?.Route;

    /// <summary>Whether no route computes it right.</summary>
    public bool StillWrong => Route is null;
}

/// <summary>What a sweep found.</summary>
/// <param name="Results">One per class.</param>
/// <param name="Elapsed">How long it took.</param>
public sealed record SweepReport(IReadOnlyList<SweepResult> Results, TimeSpan Elapsed)
{
    /// <summary>Classes checked.</summary>
    public int Checked => Results.Count;

    /// <summary>Classes libtorch's convolution computes wrong.</summary>
    public int NativeWrong => Results.Count(r => !r.Native.Right);

    /// <summary>Classes no route computes right (0 on a machine where MovingImages gives right numbers).</summary>
    public int StillWrong => Results.Count(r => r.StillWrong);

    /// <summary>One line for a reader.</summary>
    public string Verdict => NativeWrong == 0
        ? $"convolutions: libtorch computes all {Checked} shape classes checked right on this CPU ({Elapsed.TotalSeconds:0.0} s)."
        : StillWrong == 0
            ? $"convolutions: libtorch computes {NativeWrong} of {Checked} shape classes checked wrong on this CPU; MovingImages computes each of them " +
              "another way, checked right (`movingimages doctor` lists them)."
            : $"convolutions: {StillWrong} of {Checked} shape classes checked are wrong on this CPU whichever way they are computed: results that use them " +
              "cannot be trusted; run `movingimages doctor --json F` and report it.";
}

/// <summary>The grid of convolution classes <c>movingimages doctor</c>, the tests and the notebooks check.</summary>
public static class ConvolutionSweep
{
    static readonly long[] Channels = [1, 2, 3, 4, 8, 12, 15, 16, 17, 20, 24, 28, 31, 32, 33, 40, 48, 56, 64, 72, 96, 120, 128, 136, 192, 200, 256];
    static readonly long[] QuickChannels = [3, 15, 16, 17, 20, 24, 32, 40, 64];
    static readonly int[] Kernels = [1, 3, 5, 7];
    static readonly int[] Strides = [1, 2];

    /// <summary>The classes of <paramref name="extent"/>, without repeats.</summary>
    public static IReadOnlyList<ConvShape> Grid(SweepExtent extent)
    {
        var shapes = new List<ConvShape>();
        ConvShape Plain(long c, long o, int k, int s, int pad, ScalarType type, bool channelsLast, bool backward, int dilation = 1, long groups = 1) =>
            new(c, o, k, k, ConvGeometry.Square(s, pad, dilation, groups), type, channelsLast, backward);
        if (extent == SweepExtent.Quick)
        {
            foreach (var c in QuickChannels)
                foreach (var k in new[] { 1, 3, 5 })
                    foreach (var s in Strides)
                        shapes.Add(Plain(c, 32, k, s, k / 2, ScalarType.Float32, false, false));
            foreach (var c in new long[] { 16, 24, 32 })
            {
                shapes.Add(Plain(c, 32, 3, 1, 1, ScalarType.Float32, true, true));
                shapes.Add(Plain(c, 32, 3, 1, 1, ScalarType.BFloat16, false, false));
                shapes.Add(Plain(c, 32, 3, 1, 1, ScalarType.BFloat16, true, true));
                shapes.Add(Plain(c, c, 3, 1, 1, ScalarType.Float32, false, false, groups: c));
            }
            return shapes.Distinct().ToList();
        }
        // (type, memory order, direction): Standard takes four of the eight combinations for every geometry, Full all eight.
        var variants = new List<(ScalarType Type, bool ChannelsLast, bool Backward)>();
        foreach (var type in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var channelsLast in new[] { false, true })
                foreach (var backward in new[] { false, true })
                    if (extent == SweepExtent.Full || channelsLast == backward) variants.Add((type, channelsLast, backward));
        foreach (var (type, channelsLast, backward) in variants)
            foreach (var c in Channels)
                foreach (var k in Kernels)
                    foreach (var s in Strides)
                        shapes.Add(Plain(c, 32, k, s, k / 2, type, channelsLast, backward));
        // dilation, and groups (depthwise as in MobileNet and the tiny face detector; 2 and 4 groups as grouped routes)
        foreach (var (type, channelsLast, backward) in variants)
        {
            foreach (var c in new long[] { 3, 16, 20, 24, 32, 40, 64 })
                foreach (var k in new[] { 3, 5 })
                    shapes.Add(Plain(c, 32, k, 1, k / 2 * 2, type, channelsLast, backward, dilation: 2));
            foreach (var c in new long[] { 8, 16, 20, 24, 32, 40, 64, 96, 128, 256 })
                foreach (var k in new[] { 3, 5 })
                    foreach (var s in Strides)
                        shapes.Add(Plain(c, c, k, s, k / 2, type, channelsLast, backward, groups: c));
            foreach (var (c, groups) in new (long, long)[] { (32, 2), (40, 2), (48, 4), (64, 4), (96, 2) })
                shapes.Add(Plain(c, 64, 3, 1, 1, type, channelsLast, backward, groups: groups));
        }
        if (extent == SweepExtent.Full)
            foreach (var c in Channels)
                foreach (var o in new long[] { 16, 24, 255 })
                {
                    shapes.Add(Plain(c, o, 3, 1, 1, ScalarType.Float32, false, false));
                    shapes.Add(Plain(c, o, 3, 1, 0, ScalarType.Float32, false, false));
                    shapes.Add(Plain(c, o, 5, 2, 0, ScalarType.Float32, true, true));
                }
        return shapes.Distinct().ToList();
    }

    /// <summary>
    /// One line on this CPU's libtorch convolutions: the <see cref="SweepExtent.Quick"/> grid (about a hundred classes
    /// around the channel counts libtorch gets wrong on some CPUs, about a second), for a notebook's setup cell.
    /// </summary>
    public static string Verdict(CancellationToken cancellationToken = default) =>
        Run(Grid(SweepExtent.Quick), new ConvolutionRouter(log: TextWriter.Null), cancellationToken: cancellationToken).Verdict;

    /// <summary>
    /// Tries every route on every class (nothing cached in <paramref name="router"/>); <paramref name="progress"/> gets
    /// the number done after each.
    /// </summary>
    public static SweepReport Run(IReadOnlyList<ConvShape> shapes, ConvolutionRouter? router = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        router ??= ConvolutionRouter.Current;
        var clock = Stopwatch.StartNew();
        var results = new List<SweepResult>(shapes.Count);
        foreach (var shape in shapes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(new SweepResult(shape, router.Diagnose(shape)));
            progress?.Report(results.Count);
        }
        return new SweepReport(results, clock.Elapsed);
    }

    /// <summary>
    /// Milliseconds per call of each route of <paramref name="shape"/> on a 1×C×<paramref name="size"/>² input (forward,
    /// and backward where the class trains; the median of <paramref name="repeats"/> after one warm-up): which right
    /// route is fastest. Routes that do not apply are left out.
    /// </summary>
    public static IReadOnlyDictionary<ConvRoute, double> TimeRoutes(ConvShape shape, int size = 32, int repeats = 5, ConvKernels? kernels = null)
    {
        kernels ??= ConvKernels.Libtorch;
        var times = new Dictionary<ConvRoute, double>();
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad(shape.Backward);
        var generator = new torch.Generator(7);
        var x = torch.randn([1, shape.InChannels, size, size], generator: generator).to_type(shape.DType);
        if (shape.ChannelsLast) x = ChannelsLast.Of(x);
        x = x.detach().requires_grad_(shape.Backward);
        var w = torch.randn([shape.OutChannels, shape.GroupInChannels, shape.KernelH, shape.KernelW], generator: generator).to_type(shape.DType).requires_grad_(shape.Backward);
        foreach (var route in ConvolutionRouter.Candidates(shape with { Preferred = ConvRoute.Native }))
        {
            var kernel = kernels.For(route);
            var samples = new List<double>();
            for (int i = 0; i <= repeats; i++)
            {
                using var inner = torch.NewDisposeScope();
                var clock = Stopwatch.StartNew();
                var y = kernel(x, w, null, shape.Geometry);
                if (shape.Backward) y.sum().backward();
                else _ = y.sum().item<float>();
                if (i > 0) samples.Add(clock.Elapsed.TotalMilliseconds);
            }
            samples.Sort();
            times[route] = samples[samples.Count / 2];
        }
        return times;
    }
}
