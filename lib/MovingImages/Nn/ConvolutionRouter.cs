using System.Collections.Concurrent;
using System.Diagnostics;
using static TorchSharp.torch;

namespace MovingImages.Nn;

/// <summary>What the self-check found for one class of convolutions, and the route they take.</summary>
/// <param name="Shape">The class.</param>
/// <param name="Route">The first route that computed the right numbers; null when none did.</param>
/// <param name="Trials">The routes tried, in order, up to the right one.</param>
/// <param name="CheckTime">How long the check took.</param>
public sealed record ConvVerdict(ConvShape Shape, ConvRoute? Route, IReadOnlyList<ConvTrial> Trials, TimeSpan CheckTime)
{
    /// <summary>Whether the class runs another way than its caller asked for (because that way is wrong here).</summary>
    public bool Rerouted => Route != Shape.Preferred;

    /// <summary>One line for the user: what was wrong and how it is computed instead; null when nothing was.</summary>
    public string? Note => !Rerouted ? null : Route is { } route
        ? $"note: the convolution {Shape.Describe()} comes out wrong on this CPU {ConvolutionRouter.Describe(Trials[0].Route, Shape)} " +
          $"({Trials[0].Error}); MovingImages computes it {ConvolutionRouter.Describe(route, Shape)} instead, checked right " +
          "(`movingimages doctor` lists every shape)."
        : null;
}

/// <summary>No route computes a class of convolutions right on this machine: nothing is computed rather than a wrong number.</summary>
public sealed class ConvolutionUnreliableException(ConvVerdict verdict) : InvalidOperationException(
    $"no way to compute the convolution {verdict.Shape.Describe()} right was found on this CPU: " +
    string.Join("; ", verdict.Trials.Select(t => $"{ConvolutionRouter.Describe(t.Route, verdict.Shape)}: {t.Error}")) +
    ". Run `movingimages doctor --json doctor.json` and report it with the file.")
{
    /// <summary>What was tried.</summary>
    public ConvVerdict Verdict { get; } = verdict;
}

/// <summary>
/// Every convolution of the library goes through here. The first time a class of shapes (<see cref="ConvShape"/>: channels,
/// kernel, geometry, type, memory order, forward or training, libtorch's thread count) is seen in the process, a small random input is computed
/// by the caller's preferred route and held to an independent reference (<see cref="ConvolutionCheck"/>); when it is
/// wrong — libtorch 2.10's convolution is, on some AVX-512 CPUs, for some channel counts — the next route is tried
/// (libtorch on channels zero-padded to a multiple of 16, then the im2col matrix product), the user is told once, and
/// every later call of that class takes the route found right. The verdicts are cached: after the first call a
/// convolution costs one dictionary lookup more.
/// </summary>
public sealed class ConvolutionRouter
{
    static readonly Lazy<ConvolutionRouter> DefaultRouter = new(() => new ConvolutionRouter());
    static readonly AsyncLocal<ConvolutionRouter?> Override = new();

    readonly ConcurrentDictionary<ConvShape, Lazy<ConvVerdict>> _verdicts = new();
    readonly TextWriter _log;
    long _checkTicks;

    /// <summary>A router over <paramref name="kernels"/> (libtorch's by default) that writes its notes to <paramref name="log"/> (stderr by default).</summary>
    public ConvolutionRouter(ConvKernels? kernels = null, TextWriter? log = null)
    {
        Kernels = kernels ?? ConvKernels.Libtorch;
        _log = log ?? Console.Error;
    }

    /// <summary>The process's router (libtorch's kernels, notes on stderr).</summary>
    public static ConvolutionRouter Default => DefaultRouter.Value;

    /// <summary>The router convolutions on this thread (and the tasks and threads it starts) use: <see cref="Default"/> unless <see cref="Use"/> says otherwise.</summary>
    public static ConvolutionRouter Current => Override.Value ?? Default;

    /// <summary>Makes <paramref name="router"/> the current one for this thread and what it starts, until the result is disposed (for tests and tools).</summary>
    public static IDisposable Use(ConvolutionRouter router)
    {
        var before = Override.Value;
        Override.Value = router;
        return new Restore(before);
    }

    sealed class Restore(ConvolutionRouter? before) : IDisposable
    {
        public void Dispose() => Override.Value = before;
    }

    /// <summary>The kernels routed between.</summary>
    public ConvKernels Kernels { get; }

    /// <summary>The classes checked so far.</summary>
    public IReadOnlyList<ConvVerdict> Verdicts =>
        _verdicts.Values.Where(v => v.IsValueCreated).Select(v => v.Value).ToList();

    /// <summary>The time all checks so far took together.</summary>
    public TimeSpan CheckTime => TimeSpan.FromTicks(Interlocked.Read(ref _checkTicks));

    /// <summary>
    /// <c>conv2d(x, weight, bias)</c> with <paramref name="geometry"/>, by the route checked right for its class
    /// (<paramref name="preferred"/> when that one is right). Throws <see cref="ConvolutionUnreliableException"/> when none is.
    /// </summary>
    public Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, ConvGeometry geometry, ConvRoute preferred = ConvRoute.Native)
    {
        var verdict = Verdict(ConvShape.Of(x, weight, bias, geometry, preferred));
        return Kernels.For(verdict.Route!.Value)(x, weight, bias, geometry);
    }

    /// <summary>The verdict on <paramref name="shape"/>, checked now if it was not before. Throws <see cref="ConvolutionUnreliableException"/> when no route is right.</summary>
    public ConvVerdict Verdict(ConvShape shape)
    {
        shape = shape.WithThreads();
        var verdict = _verdicts.GetOrAdd(shape, s => new Lazy<ConvVerdict>(() => Check(s), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        if (verdict.Route is null) throw new ConvolutionUnreliableException(verdict);
        return verdict;
    }

    /// <summary>
    /// Checks every class in <paramref name="shapes"/> that is not checked yet (a model's convolutions, at load); returns
    /// the time it took. Throws <see cref="ConvolutionUnreliableException"/> when a class has no right route.
    /// </summary>
    public TimeSpan Prepare(IEnumerable<ConvShape> shapes)
    {
        var clock = Stopwatch.StartNew();
        foreach (var shape in shapes.Distinct()) Verdict(shape);
        return clock.Elapsed;
    }

    ConvVerdict Check(ConvShape shape)
    {
        var clock = Stopwatch.StartNew();
        var check = new ConvolutionCheck(shape);
        var trials = new List<ConvTrial>();
        ConvRoute? found = null;
        foreach (var route in Candidates(shape))
        {
            var trial = check.Try(route, Kernels.For(route));
            trials.Add(trial);
            if (trial.Right) { found = route; break; }
        }
        var verdict = new ConvVerdict(shape, found, trials, clock.Elapsed);
        Interlocked.Add(ref _checkTicks, clock.Elapsed.Ticks);
        if (verdict.Note is { } note) lock (_log) _log.WriteLine(note);
        return verdict;
    }

    /// <summary>
    /// Every route that applies to <paramref name="shape"/>, tried now (nothing cached): what <c>movingimages doctor</c>
    /// reports. The first right one in <see cref="Candidates"/> order is the one <see cref="Conv2d"/> takes.
    /// </summary>
    public IReadOnlyList<ConvTrial> Diagnose(ConvShape shape)
    {
        var check = new ConvolutionCheck(shape.WithThreads());
        return Candidates(shape).Select(route => check.Try(route, Kernels.For(route))).ToList();
    }

    /// <summary>
    /// The routes for <paramref name="shape"/>, in the order they are tried: the preferred one, libtorch's, padded
    /// channels (where it applies), the matrix product, and for bf16/fp16 classes the float32 matrix product last.
    /// </summary>
    public static IEnumerable<ConvRoute> Candidates(ConvShape shape)
    {
        var order = new List<ConvRoute> { shape.Preferred, ConvRoute.Native };
        if (ConvolutionRoutes.CanPadChannels(shape)) order.Add(ConvRoute.PaddedChannels);
        order.Add(ConvRoute.MatrixProduct);
        if (shape.DType is ScalarType.BFloat16 or ScalarType.Float16) order.Add(ConvRoute.Float32);
        return order.Distinct();
    }

    /// <summary>"as one matrix product (im2col)", for messages.</summary>
    public static string Describe(ConvRoute route, ConvShape shape) => route switch
    {
        ConvRoute.Native => "by libtorch's convolution",
        ConvRoute.PaddedChannels => $"by libtorch's convolution on its input zero-padded to {(shape.InChannels + ConvolutionRoutes.ChannelBlock - 1) / ConvolutionRoutes.ChannelBlock * ConvolutionRoutes.ChannelBlock} channels",
        ConvRoute.MatrixProduct => "as one matrix product (im2col)",
        ConvRoute.Float32 => "as one matrix product in float32, rounded to its type",
        _ => route.ToString(),
    };
}
