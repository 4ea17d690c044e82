using System.CommandLine;
using System.Text.Json.Nodes;
using MovingImages.Nn;
using MovingImages.Runtime;
using Spectre.Console;

namespace MovingImages.Cli.Commands;

/// <summary>
/// <c>movingimages doctor</c>: which convolutions this CPU's libtorch computes wrong, and how MovingImages computes them
/// instead; exit 1 when a class would still be wrong after routing.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create(CliIO io)
    {
        var extent = new Option<string>("--extent") { Description = "quick (about a hundred classes), standard (the tests' grid) or full", DefaultValueFactory = _ => "full" };
        var json = new Option<string?>("--json") { Description = "also write every class checked, its routes and their errors to this file" };
        var times = new Option<bool>("--time-routes") { Description = "time the right routes of every class libtorch gets wrong (1×C×32×32)" };
        var threads = SharedOptions.Threads();
        var command = new Command("doctor", "Check libtorch's convolutions on this CPU against an independent reference: what is wrong and how it is routed around.")
        {
            extent, json, times, threads,
        };
        command.SetAction((parse, ct) => Task.Run(() =>
        {
            TorchRuntime.SetThreads(parse.GetValue(threads));
            var which = parse.GetValue(extent)!.ToLowerInvariant() switch
            {
                "quick" => SweepExtent.Quick, "standard" => SweepExtent.Standard, "full" => SweepExtent.Full,
                var other => throw new ArgumentException($"--extent must be quick, standard or full, got '{other}'"),
            };
            var shapes = ConvolutionSweep.Grid(which);
            var extensions = CpuFeatures.VectorExtensions;
            io.Err.WriteLine($"checking {shapes.Count} convolution classes against a plain C# convolution (libtorch {TorchSharp.torch.__version__}, " +
                             $"{TorchRuntime.Threads} threads; CPU: {(extensions.Count == 0 ? "unknown" : string.Join(" ", extensions))})");
            SweepReport report = null!;
            io.Console.Progress().AutoClear(true).Start(context =>
            {
                var task = context.AddTask("convolutions", maxValue: shapes.Count);
                report = ConvolutionSweep.Run(shapes, new ConvolutionRouter(log: TextWriter.Null), new InlineProgress<int>(done => task.Value = done), ct);
            });
            var wrong = report.Results.Where(r => !r.Native.Right).ToList();
            var timings = parse.GetValue(times) ? wrong.ToDictionary(r => r.Shape, r => ConvolutionSweep.TimeRoutes(r.Shape)) : [];
            if (wrong.Count > 0)
            {
                var table = new Table().AddColumns("convolution", "libtorch", "computed instead", "after routing");
                foreach (var r in wrong.Take(60))
                    table.AddRow(Markup.Escape(r.Shape.Describe()), Markup.Escape(r.Native.Error!),
                        r.Route is { } route ? Markup.Escape(ConvolutionRouter.Describe(route, r.Shape)) : "[red]nothing is right[/]", r.StillWrong ? "[red]WRONG[/]" : "right");
                io.Console.Write(table);
                if (wrong.Count > 60) io.Err.WriteLine($"… and {wrong.Count - 60} more (--json FILE lists them all)");
            }
            foreach (var group in report.Results.Where(r => r.Native.Right).GroupBy(r => r.Shape.DType))
                io.Err.WriteLine($"{group.Key}: libtorch's right classes come within {group.Max(r => r.Native.Margin):0.000} of the tolerance at most " +
                                 $"({group.MaxBy(r => r.Native.Margin)!.Shape.Describe()}: {group.MaxBy(r => r.Native.Margin)!.Native.Worst})");
            io.Out.WriteLine(report.Verdict);
            io.Out.WriteLine($"{report.Checked} classes checked, {report.NativeWrong} wrong in libtorch, {report.StillWrong} wrong after routing ({report.Elapsed.TotalSeconds:0.0} s)");

            var figures = BenchJson.Start("doctor");
            figures["libtorch"] = TorchSharp.torch.__version__;
            figures["cpu_flags"] = new JsonArray(extensions.Select(e => (JsonNode)e).ToArray());
            figures["extent"] = which.ToString().ToLowerInvariant();
            figures["threads"] = TorchRuntime.Threads;                 // libtorch's results depend on them: each count is checked on its own
            figures["checked"] = report.Checked;
            figures["native_wrong"] = report.NativeWrong;
            figures["still_wrong"] = report.StillWrong;
            figures["seconds"] = BenchJson.Round(report.Elapsed.TotalSeconds);
            figures["verdict"] = report.Verdict;
            figures["classes"] = new JsonArray(report.Results.Select(r => (JsonNode)Describe(r, timings.GetValueOrDefault(r.Shape))).ToArray());
            BenchJson.Write(parse.GetValue(json), figures);
            return report.StillWrong == 0 ? 0 : 1;
        }, ct));
        return command;
    }

    static JsonObject Describe(SweepResult r, IReadOnlyDictionary<ConvRoute, double>? times)
    {
        var s = r.Shape;
        var o = new JsonObject
        {
            ["shape"] = s.Describe(),
            ["in_channels"] = s.InChannels, ["out_channels"] = s.OutChannels, ["kernel"] = s.KernelH, ["stride"] = s.Geometry.StrideH,
            ["padding"] = s.Geometry.PadH, ["dilation"] = s.Geometry.DilationH, ["groups"] = s.Geometry.Groups,
            ["dtype"] = s.DType.ToString().ToLowerInvariant(), ["channels_last"] = s.ChannelsLast, ["backward"] = s.Backward,
            ["native_right"] = r.Native.Right, ["route"] = r.Route?.ToString(), ["still_wrong"] = r.StillWrong,
            ["trials"] = new JsonArray(r.Trials.Select(t => (JsonNode)new JsonObject
            {
                ["route"] = t.Route.ToString(), ["right"] = t.Right, ["error"] = t.Error,
                ["margin"] = double.IsFinite(t.Margin) ? BenchJson.Round(t.Margin, 4) : null, ["worst"] = t.Worst,
                ["ms"] = BenchJson.Round(t.Elapsed.TotalMilliseconds, 3),
            }).ToArray()),
        };
        if (times != null) o["route_ms"] = new JsonObject(times.Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)BenchJson.Round(kv.Value, 3))));
        return o;
    }
}
