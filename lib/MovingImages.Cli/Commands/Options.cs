using System.CommandLine;
using MovingImages.ObjectDetection;
using MovingImages.Geometry;

namespace MovingImages.Cli.Commands;

/// <summary>Options several commands share, with defaults from the library's option records.</summary>
internal static class SharedOptions
{
    public static Option<string> Cfg() => new("--cfg") { Description = "darknet network definition", DefaultValueFactory = _ => "weights/yolov3.cfg" };
    public static Option<string> Weights() => new("--weights") { Description = "darknet weights", DefaultValueFactory = _ => "weights/yolov3.weights" };
    public static Option<string?> Names() => new("--names") { Description = "class names, one per line (default: coco.names beside the cfg or weights)" };
    public static Option<int> Size() => new("--size") { Description = "network input size, a multiple of 32", DefaultValueFactory = _ => YoloOptions.Default.InputSize };
    public static Option<float> Conf() => new("--conf") { Description = "score threshold", DefaultValueFactory = _ => YoloOptions.Default.Confidence };
    public static Option<float> Nms() => new("--nms") { Description = "NMS IoU threshold", DefaultValueFactory = _ => YoloOptions.Default.NmsIou };
    public static Option<int> Threads() => new("--threads") { Description = "CPU threads for inference (0: library default)", DefaultValueFactory = _ => 0 };
    public static Option<string?> Device() => new("--device") { Description = "cpu, cuda, cuda:N or auto" };
    public static Option<string?> From() => new("--from") { Description = $"a local folder to take files from instead of downloading (also ${Fetch.Fetcher.MirrorVariable})" };

    public static Option<string> Precision() => new("--precision")
    {
        Description = "the network's arithmetic: fp32, or bf16 (about twice as fast on CPUs with AVX512-BF16/AMX; boxes agree with fp32's)",
        DefaultValueFactory = _ => "fp32",
    };

    public static Option<bool> Offline() => new("--offline") { Description = "never use the network: take files from the local mirror only" };

    /// <summary>Says how to get the YOLOv3 files when they are missing.</summary>
    public static void RequireFile(string path, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{what} not found: {path}. Run `movingimages fetch yolov3` (or pass --cfg/--weights).", path);
    }
}
