using System.Runtime.InteropServices;
using OpenCvSharp;
using OpenCvSharp.Dnn;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.ObjectDetection;

/// <summary>
/// OpenCV's DNN module reading the same darknet <c>.cfg</c> and <c>.weights</c>: an independent implementation of the
/// network, used by the tests (numerical agreement) and by <c>movingimages bench locate</c> (speed).
/// </summary>
public sealed class OpenCvDarknet : IDisposable
{
    readonly Net _net;

    /// <summary>Loads the network with OpenCV's darknet importer, CPU backend.</summary>
    public OpenCvDarknet(string cfgPath, string weightsPath)
    {
        _net = CvDnn.ReadNetFromDarknet(cfgPath, weightsPath) ?? throw new InvalidOperationException($"OpenCV could not read {cfgPath} / {weightsPath}");
        _net.SetPreferableBackend(Backend.OPENCV);
        _net.SetPreferableTarget(Target.CPU);
    }

    /// <summary>OpenCV's names for the layers ("conv_0", …, "yolo_82").</summary>
    public IReadOnlyList<string> LayerNames => _net.GetLayerNames()!.Select(n => n!).ToArray();

    /// <summary>
    /// Runs the network on an N×3×H×W float input (for instance one made by <see cref="Yolo.Prepare"/>) and returns the
    /// named layers' outputs as flat arrays with their shapes.
    /// </summary>
    public (float[] Data, int[] Shape)[] Forward(Tensor input, params string[] layers)
    {
        var shape = input.shape.Select(s => (int)s).ToArray();
        var data = input.to(torch.CPU).contiguous().data<float>().ToArray();
        using var blob = new Mat(shape, MatType.CV_32F);
        Marshal.Copy(data, 0, blob.Data, data.Length);
        _net.SetInput(blob);
        var outs = layers.Select(_ => new Mat()).ToArray();
        try
        {
            _net.Forward(outs, layers);
            return outs.Select(m =>
            {
                var dims = Enumerable.Range(0, m.Dims).Select(m.Size).ToArray();
                var values = new float[dims.Aggregate(1, (a, b) => a * b)];
                Marshal.Copy(m.Data, values, 0, values.Length);
                return (values, dims);
            }).ToArray();
        }
        finally
        {
            foreach (var m in outs) m.Dispose();
        }
    }

    /// <summary>The OpenCV names of the convolutions that feed each [yolo] head (the raw head outputs).</summary>
    public static string[] HeadLayerNames(Darknet.DarknetConfig config) => config.YoloLayers.Select(y => $"conv_{y.Index - 1}").ToArray();

    /// <summary>Releases the OpenCV network.</summary>
    public void Dispose() => _net.Dispose();
}
