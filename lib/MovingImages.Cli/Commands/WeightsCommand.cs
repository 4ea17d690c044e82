using System.CommandLine;
using MovingImages.Darknet;
using MovingImages.Imaging;
using Spectre.Console;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages weights synth|info</c>: make synthetic weights for tests and benchmarks; describe a weights file.</summary>
internal static class WeightsCommand
{
    public static Command Create(CliIO io)
    {
        var command = new Command("weights", "Inspect darknet weights or make synthetic ones.");
        command.Subcommands.Add(Synth(io));
        command.Subcommands.Add(Info(io));
        return command;
    }

    static Command Synth(CliIO io)
    {
        var cfg = SharedOptions.Cfg();
        var output = new Option<string>("--out") { Description = "weights file to write", Required = true };
        var seed = new Option<int>("--seed") { Description = "random seed", DefaultValueFactory = _ => 1 };
        var calibrate = new Option<string[]>("--calibrate") { Description = "images to calibrate batch norm and the heads on", AllowMultipleArgumentsPerToken = true };
        var size = SharedOptions.Size();
        var conf = SharedOptions.Conf();
        var command = new Command("synth", "Write deterministic synthetic weights for a config (for tests and benchmarks; they detect nothing real).")
        {
            cfg, output, seed, calibrate, size, conf,
        };
        command.SetAction(parse =>
        {
            var config = DarknetConfig.Load(parse.GetValue(cfg)!);
            var images = (parse.GetValue(calibrate) ?? []).Select(ImageFiles.Read).ToList();
            try
            {
                var weights = ObjectDetection.YoloFiles.Calibrated(config, images, parse.GetValue(size), new SyntheticWeightsOptions(parse.GetValue(seed), parse.GetValue(conf)));
                DarknetWeightsFile.Write(parse.GetValue(output)!, weights, config);
            }
            finally
            {
                images.ForEach(i => i.Dispose());
            }
            io.Err.WriteLine($"wrote {parse.GetValue(output)} ({new FileInfo(parse.GetValue(output)!).Length:N0} bytes, seed {parse.GetValue(seed)}{(images.Count > 0 ? $", calibrated on {images.Count} images" : "")})");
            return 0;
        });
        return command;
    }

    static Command Info(CliIO io)
    {
        var weights = new Argument<string>("weights") { Description = "a .weights file" };
        var cfg = SharedOptions.Cfg();
        var command = new Command("info", "Check a weights file against its config and print its header and layers.") { weights, cfg };
        command.SetAction(parse =>
        {
            var config = DarknetConfig.Load(parse.GetValue(cfg)!);
            var w = DarknetWeightsFile.Read(parse.GetValue(weights)!, config);
            var shapes = config.OutputShapes(config.Net.Width, config.Net.Height);
            var table = new Table().AddColumns("layer", "kind", "output", "parameters");
            long total = 0;
            foreach (var layer in config.Layers)
            {
                long p = layer is ConvolutionalLayer c ? DarknetWeights.FloatCount(c, w.ForLayer(c.Index).InputChannels) : 0;
                total += p;
                table.AddRow($"{layer.Index}", layer.Kind, shapes[layer.Index].ToString(), p == 0 ? "" : $"{p:N0}");
            }
            io.Console.Write(table);
            io.Out.WriteLine($"{parse.GetValue(weights)}: version {w.Header.Major}.{w.Header.Minor}.{w.Header.Revision}, seen {w.Header.Seen:N0}, {w.Layers.Count} convolutional layers, {total:N0} parameters, matches {config.Source}");
            return 0;
        });
        return command;
    }
}
