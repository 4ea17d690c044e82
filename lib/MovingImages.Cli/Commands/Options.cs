using System.CommandLine;
using MovingImages.ObjectDetection;

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
    /// <summary>The one <c>--threads</c> of every command: libtorch's intra-op threads (and the peer's, in benchmarks).</summary>
    public static Option<int> Threads() => new("--threads") { Description = "CPU threads (default: every core)", DefaultValueFactory = _ => Environment.ProcessorCount };
    /// <summary>The one <c>--models</c> of every command that runs the face networks.</summary>
    public static Option<string> FaceModels() => new("--models") { Description = "face-api model folder", DefaultValueFactory = _ => MovingImages.FaceAnalysis.Faces.DefaultDirectory };
    public static Option<string?> Device() => new("--device") { Description = "cpu, cuda, cuda:N or auto" };
    public static Option<string?> From() => new("--from") { Description = $"a local folder to take files from instead of downloading (also ${Fetch.Fetcher.MirrorVariable})" };

    public static Option<string> Precision() => new("--precision")
    {
        Description = "the networks' arithmetic: fp32, or bf16 (about twice as fast on CPUs with AVX512-BF16/AMX; results agree with fp32's: boxes, landmarks, descriptors within 0.02)",
        DefaultValueFactory = _ => "fp32",
    };

    /// <summary>The face-swap model's sizes (fakevideo and bench fakevideo).</summary>
    public static Option<int> FaceSwapSize() => new("--size") { Description = "face size the model sees", DefaultValueFactory = _ => MovingImages.FaceSwap.FaceSwapModelOptions.Default.ImageSize };
    public static Option<int> FaceSwapEncoderDim() => new("--encoder-dim") { Description = "width of the bottleneck", DefaultValueFactory = _ => MovingImages.FaceSwap.FaceSwapModelOptions.Default.EncoderDim };
    public static Option<int> FaceSwapFilters() => new("--filters") { Description = "filters of the first convolution", DefaultValueFactory = _ => MovingImages.FaceSwap.FaceSwapModelOptions.Default.Filters };

    public static Option<bool> Offline() => new("--offline") { Description = "never use the network: take files from the local mirror only" };

    /// <summary>Says how to get the YOLOv3 files when they are missing.</summary>
    public static void RequireFile(string path, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{what} not found: {path}. Run `movingimages fetch yolov3` (or pass --cfg/--weights).", path);
    }
}
