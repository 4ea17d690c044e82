using MovingImages.Darknet;

namespace MovingImages.Tests.Darknet;

public class DarknetConfigTests
{
    [Fact]
    public void Yolov3_has_darknet53_and_three_heads()
    {
        var cfg = DarknetConfig.Load(TestData.Cfg("yolov3.cfg"));
        Assert.Equal(107, cfg.Layers.Count);
        Assert.Equal(75, cfg.ConvolutionalLayers.Count);
        Assert.Equal(23, cfg.Layers.OfType<ShortcutLayer>().Count());
        Assert.Equal([82, 94, 106], cfg.YoloLayers.Select(y => y.Index));
        Assert.Equal(80, cfg.Classes);
        Assert.Equal((608, 608, 3), (cfg.Net.Width, cfg.Net.Height, cfg.Net.Channels)); // darknet master ships it at 608
        var shapes = cfg.OutputShapes(416, 416);
        Assert.Equal(new LayerShape(255, 13, 13), shapes[82]);
        Assert.Equal(new LayerShape(255, 26, 26), shapes[94]);
        Assert.Equal(new LayerShape(255, 52, 52), shapes[106]);
        Assert.Equal([6, 7, 8], cfg.YoloLayers[0].Mask);
        Assert.Equal((116f, 90f), cfg.YoloLayers[0].Anchors[0]);
        // route -1, 61 at layer 86: absolute indices 85 and 61
        Assert.Equal([85, 61], ((RouteLayer)cfg.Layers[86]).Layers);
        Assert.Equal(62_001_757, DarknetWeights.FloatCount(cfg)); // (248,007,048 bytes − 20-byte header) / 4
    }

    [Fact]
    public void Yolov3_tiny_keeps_size_through_its_stride1_maxpool()
    {
        var cfg = DarknetConfig.Load(TestData.Cfg("yolov3-tiny.cfg"));
        var pool = cfg.Layers.OfType<MaxPoolLayer>().Single(m => m.Stride == 1);
        Assert.Equal((2, 1), (pool.Size, pool.Padding));
        var shapes = cfg.OutputShapes(416, 416);
        Assert.Equal(shapes[pool.Index - 1].Height, shapes[pool.Index].Height);
        Assert.Equal(13, shapes[pool.Index].Height);
        Assert.Equal([new LayerShape(255, 13, 13), new LayerShape(255, 26, 26)], cfg.YoloLayers.Select(y => shapes[y.Index]));
        Assert.Equal(8_858_734, DarknetWeights.FloatCount(cfg));
    }

    [Fact]
    public void Yolov3_spp_routes_four_pools()
    {
        var cfg = DarknetConfig.Load(TestData.Cfg("yolov3-spp.cfg"));
        var pools = cfg.Layers.OfType<MaxPoolLayer>().ToArray();
        Assert.Equal([5, 9, 13], pools.Select(p => p.Size));
        Assert.Contains(cfg.Layers.OfType<RouteLayer>(), r => r.Layers.Count == 4);
        var shapes = cfg.OutputShapes(608, 608);
        Assert.All(pools, p => Assert.Equal(19, shapes[p.Index].Width));
        Assert.Equal(3, cfg.YoloLayers.Count);
    }

    static DarknetConfigException Fails(string text) =>
        Assert.Throws<DarknetConfigException>(() => DarknetConfig.Parse(text, "bad.cfg"));

    const string Net = "[net]\nwidth=64\nheight=64\nchannels=3\n";

    [Fact]
    public void Unknown_section_names_file_and_line()
    {
        var e = Fails(Net + "[convolutional]\nfilters=4\nsize=3\n\n[dropout]\nprobability=.5\n");
        Assert.Equal(9, e.Line);
        Assert.Contains("bad.cfg:9", e.Message);
        Assert.Contains("[dropout]", e.Message);
        Assert.Contains("unknown section", e.Message);
    }

    [Fact]
    public void Missing_key_is_named()
    {
        var e = Fails(Net + "[convolutional]\nsize=3\nactivation=leaky\n");
        Assert.Equal("filters", e.Key);
        Assert.Equal(5, e.Line);
        Assert.Contains("'filters'", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Bad_number_points_at_its_line()
    {
        var e = Fails(Net + "[convolutional]\nfilters=16\nsize=3x\n");
        Assert.Equal((7, "size"), (e.Line, e.Key));
        Assert.Contains("'3x' is not an integer", e.Message);
        var a = Fails(Net + "[convolutional]\nfilters=18\nsize=1\n[yolo]\nclasses=1\nanchors=10,abc\nmask=0\n");
        Assert.Equal("anchors", a.Key);
        Assert.Contains("'abc' is not a number", a.Message);
    }

    [Fact]
    public void Route_out_of_range_is_rejected()
    {
        var e = Fails(Net + "[convolutional]\nfilters=4\nsize=1\n[route]\nlayers=-2\n");
        Assert.Equal("layers", e.Key);
        Assert.Contains("out of range", e.Message);
        var f = Fails(Net + "[convolutional]\nfilters=4\nsize=1\n[route]\nlayers=1\n");
        Assert.Contains("layer 1 (absolute 1)", f.Message);
        var s = Fails(Net + "[shortcut]\nfrom=-3\n");
        Assert.Equal("from", s.Key);
    }

    [Fact]
    public void Shapes_that_do_not_fit_are_errors()
    {
        // shortcut adding a 4-channel layer to an 8-channel one
        var e = Fails(Net + "[convolutional]\nfilters=4\nsize=1\n[convolutional]\nfilters=8\nsize=1\n[shortcut]\nfrom=-2\n");
        Assert.Contains("shapes differ", e.Message);
        // yolo head whose input has the wrong channel count
        var y = Fails(Net + "[convolutional]\nfilters=10\nsize=1\n[yolo]\nclasses=2\nanchors=1,1, 2,2\nmask=0,1\n");
        Assert.Contains("14 expected", y.Message);
        Assert.Contains("bad.cfg:8", y.Message);
    }

    [Fact]
    public void Other_bad_input_is_clear()
    {
        Assert.Contains("first section must be [net]", Fails("[convolutional]\nfilters=1\nsize=1\n").Message);
        Assert.Contains("expected key=value", Fails(Net + "[convolutional]\nfilters\n").Message);
        Assert.Contains("appears twice", Fails(Net + "[convolutional]\nfilters=1\nfilters=2\nsize=1\n").Message);
        Assert.Contains("'tanh' is not supported", Fails(Net + "[convolutional]\nfilters=1\nsize=1\nactivation=tanh\n").Message);
        Assert.Contains("no sections", Fails("# just a comment\n").Message);
        Assert.Throws<FileNotFoundException>(() => DarknetConfig.Load("/nonexistent/x.cfg"));
    }

    [Fact]
    public void Unused_keys_are_warnings_not_errors()
    {
        var cfg = DarknetConfig.Parse(Net + "learning_rate=0.001\n[convolutional]\nfilters=1\nsize=1\nfancy=1\n", "w.cfg");
        Assert.Single(cfg.Warnings);
        Assert.Contains("w.cfg:9: [convolutional] key 'fancy'", cfg.Warnings[0]);
    }

    [Fact]
    public void Input_size_must_fit_the_routes()
    {
        var cfg = DarknetConfig.Load(TestData.Cfg("yolov3.cfg"));
        var e = Assert.Throws<DarknetConfigException>(() => cfg.OutputShapes(400, 400));
        Assert.Contains("multiple of 32", e.Message);
    }
}
