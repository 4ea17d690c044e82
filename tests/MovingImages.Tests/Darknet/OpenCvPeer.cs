using MovingImages.ObjectDetection;
using OpenCvSharp;
using OpenCvSharp.Dnn;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Tests.Darknet;

/// <summary>OpenCV DNN reading the same darknet files: the independent implementation we compare against.</summary>
public sealed class OpenCvPeer : IDisposable
{
    readonly Net _net;
    public OpenCvPeer(string cfg, string weights)
    {
        _net = CvDnn.ReadNetFromDarknet(cfg, weights) ?? throw new InvalidOperationException("OpenCV could not read " + cfg);
        _net.SetPreferableBackend(Backend.OPENCV);
        _net.SetPreferableTarget(Target.CPU);
    }

    public string[] LayerNames => _net.GetLayerNames()!.Select(n => n!).ToArray();

    /// <summary>Runs on the given 1×3×S×S input; returns the named layers' outputs as float arrays with shapes.</summary>
    public (float[] Data, int[] Shape)[] Forward(Tensor input, params string[] layers)
    {
        var shape = input.shape.Select(s => (int)s).ToArray();
        var data = input.to(torch.CPU).contiguous().data<float>().ToArray();
        using var blob = new Mat(shape, MatType.CV_32F);
        System.Runtime.InteropServices.Marshal.Copy(data, 0, blob.Data, data.Length);
        _net.SetInput(blob);
        var outs = layers.Select(_ => new Mat()).ToArray();
        _net.Forward(outs, layers);
        return outs.Select(m =>
        {
            var dims = Enumerable.Range(0, m.Dims).Select(m.Size).ToArray();
            var f = new float[dims.Aggregate(1, (a, b) => a * b)];
            System.Runtime.InteropServices.Marshal.Copy(m.Data, f, 0, f.Length);
            m.Dispose();
            return (f, dims);
        }).ToArray();
    }

    public void Dispose() => _net.Dispose();
}
