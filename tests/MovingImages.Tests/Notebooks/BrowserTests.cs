using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MovingImages.Notebooks;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit.Abstractions;

namespace MovingImages.Tests.Notebooks;

/// <summary>
/// Notebook 01 in a real browser, as a reader opens it: Debian's Jupyter Notebook server on 127.0.0.1 with a token and our
/// kernelspec, headless Chromium driven by Selenium (Debian's chromium + chromium-driver; `.ci/run` installs them),
/// Cell ▸ Run All clicked in the page. A screenshot is saved under tests/MovingImages.Tests/TestResults/.
/// </summary>
public class BrowserTests(ITestOutputHelper output)
{
    const string Chromium = "/usr/bin/chromium", ChromeDriver = "/usr/bin/chromedriver", NotebookServer = "/usr/bin/jupyter-notebook";

    [Fact]
    public void Notebook_01_runs_all_in_Chromium_with_the_annotated_photo_and_the_final_video_frame_visible()
    {
        foreach (var tool in new[] { Chromium, ChromeDriver, NotebookServer })
            Assert.True(File.Exists(tool), $"{tool} is missing: apt-get install chromium chromium-driver jupyter-notebook (.ci/run does)");

        // The page's folder looks like the repository to the notebook: notebooks/01….ipynb and ../lib (a link).
        string root = TestData.NewTempDir("browser");
        Directory.CreateSymbolicLink(Path.Combine(root, "lib"), Path.Combine(TestData.RepoRoot, "lib"));
        Directory.CreateDirectory(Path.Combine(root, "notebooks"));
        string prepared = RealKernelTests.Prepare("01-locate-objects.ipynb", new()
        {
            ["model"] = "yolov3-tiny", ["weightsFolder"] = SyntheticModels.Folder("yolov3-tiny"),
            ["imagePath"] = TestData.Image("dog.jpg"), ["videoPath"] = TestData.Shared("data", "video", "vtest.avi"),
            ["inputSize"] = "320", ["maxFrames"] = "20", ["cameraFrames"] = "5",
        });
        File.Copy(prepared, Path.Combine(root, "notebooks", "01-locate-objects.ipynb"));

        int port = FreePort();
        string token = Guid.NewGuid().ToString("N");
        var serverLog = new System.Text.StringBuilder();
        using var server = StartServer(root, port, token, serverLog);
        try
        {
            WaitForServer(port, token, server, serverLog);
            var options = new ChromeOptions { BinaryLocation = Chromium };
            options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,3000");
            using var service = ChromeDriverService.CreateDefaultService(ChromeDriver);
            service.SuppressInitialDiagnosticInformation = true;
            using var driver = new ChromeDriver(service, options, TimeSpan.FromMinutes(2));
            var js = (IJavaScriptExecutor)driver;
            driver.Navigate().GoToUrl($"http://127.0.0.1:{port}/notebooks/notebooks/01-locate-objects.ipynb?token={token}");
            Until(TimeSpan.FromMinutes(2), "the kernel to connect", () =>
                js.ExecuteScript("return !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected())") is true);

            driver.FindElement(By.Id("celllink")).Click();                       // Cell
            driver.FindElement(By.CssSelector("#run_all_cells > a")).Click();    // ▸ Run All

            var sw = Stopwatch.StartNew();
            Until(TimeSpan.FromMinutes(5), "every code cell to run", () =>
            {
                var errors = driver.FindElements(By.CssSelector(".output_error"));
                Assert.True(errors.Count == 0, "an error output: " + string.Join("\n", errors.Select(e => e.Text)));
                return js.ExecuteScript("""
                    const code = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code');
                    return code.every(c => typeof c.input_prompt_number === 'number') && !Jupyter.notebook.kernel_busy;
                    """) is true;
            });
            output.WriteLine($"all cells ran in {sw.Elapsed.TotalSeconds:0} s");
            Assert.Empty(driver.FindElements(By.CssSelector(".output_error")));

            var photo = Output(driver, js, "yolo.Detect(imagePath, options);").FindElement(By.CssSelector("img[src^='data:image/png;base64,']"));
            AssertVisibleImage(js, photo, "the annotated photo");
            var video = Output(driver, js, "NotebookDisplay.LiveView()");
            var figure = video.FindElement(By.TagName("figure"));
            Assert.Contains("done, 20 frames", figure.FindElement(By.TagName("figcaption")).Text);    // the final frame, in place
            AssertVisibleImage(js, figure.FindElement(By.TagName("img")), "the video cell's last frame");
            Assert.Single(video.FindElements(By.TagName("figure")));                                   // updated in place, not appended

            // the interactive charts are drawn by the plotly.js the setup cell embedded (the page has no network besides the
            // notebook server): each chart's div holds plotly's SVG with one trace per series
            Until(TimeSpan.FromSeconds(30), "the interactive charts to draw", () =>
                Output(driver, js, "Charts.FrameTimes(stats)").FindElements(By.CssSelector(".js-plotly-plot .main-svg")).Count > 0);
            var frameChart = Output(driver, js, "Charts.FrameTimes(stats)").FindElement(By.CssSelector(".js-plotly-plot"));
            Assert.Equal(3L, js.ExecuteScript("return arguments[0].querySelectorAll('.scatterlayer .trace').length", frameChart));
            Assert.True(frameChart.Size.Width > 300 && frameChart.Size.Height > 300, $"the chart is {frameChart.Size}");
            var sizeChart = Output(driver, js, "Input size: objects found and time").FindElement(By.CssSelector(".js-plotly-plot"));
            Assert.Equal(3L, js.ExecuteScript("return arguments[0].querySelectorAll('.barlayer .point').length", sizeChart)); // a bar per size
            Assert.Contains("Input size", sizeChart.Text);                                                                       // the title, drawn
            Assert.Equal("4.1.2", js.ExecuteScript("return window.Plotly.version"));

            js.ExecuteScript("arguments[0].scrollIntoView({block: 'center'})", figure);
            string shots = Path.Combine(TestData.RepoRoot, "tests", "MovingImages.Tests", "TestResults");
            Directory.CreateDirectory(shots);
            string shot = Path.Combine(shots, "browser-notebook-01.png");
            driver.GetScreenshot().SaveAsFile(shot);
            output.WriteLine($"screenshot: {shot}");
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
            server.WaitForExit(10_000);
            string log;
            lock (serverLog) log = serverLog.ToString();
            output.WriteLine(log[^Math.Min(3000, log.Length)..]);
        }
    }

    /// <summary>The output area of the code cell whose source contains <paramref name="source"/>.</summary>
    static IWebElement Output(IWebDriver driver, IJavaScriptExecutor js, string source)
    {
        long index = (long)js.ExecuteScript("return Jupyter.notebook.get_cells().findIndex(c => c.get_text().includes(arguments[0]))", source)!;
        Assert.True(index >= 0, $"no cell with '{source}'");
        return driver.FindElements(By.CssSelector("#notebook-container > .cell"))[(int)index].FindElement(By.CssSelector(".output_wrapper"));
    }

    static void AssertVisibleImage(IJavaScriptExecutor js, IWebElement image, string what)
    {
        Assert.True(image.Displayed, $"{what} is not displayed");
        var natural = (long)js.ExecuteScript("return arguments[0].complete ? arguments[0].naturalWidth : 0", image)!;
        Assert.True(natural > 0 && image.Size.Width > 0 && image.Size.Height > 0, $"{what} did not decode (natural width {natural}, size {image.Size})");
    }

    static Process StartServer(string root, int port, string token, System.Text.StringBuilder log)
    {
        var psi = new ProcessStartInfo(NotebookServer,
        [
            "--no-browser", "--allow-root", "--ip=127.0.0.1", $"--port={port}", "--port-retries=0",
            $"--NotebookApp.token={token}", $"--notebook-dir={root}",
        ])
        { RedirectStandardError = true, RedirectStandardOutput = true };
        // Our kernelspec first; the user's Jupyter configuration and runtime files stay out of it.
        psi.Environment["JUPYTER_PATH"] = RealKernelTests.KernelSpecDir.Value;
        psi.Environment["JUPYTER_CONFIG_DIR"] = Path.Combine(root, ".jupyter-config");
        psi.Environment["JUPYTER_RUNTIME_DIR"] = Path.Combine(root, ".jupyter-runtime");
        psi.Environment["JUPYTER_DATA_DIR"] = Path.Combine(root, ".jupyter-data");
        var process = new Process { StartInfo = psi };
        DataReceivedEventHandler append = (_, e) => { if (e.Data != null) lock (log) log.AppendLine(e.Data); };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static void WaitForServer(int port, string token, Process server, System.Text.StringBuilder log)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        Until(TimeSpan.FromMinutes(1), "the notebook server", () =>
        {
            if (server.HasExited) lock (log) Assert.Fail($"the notebook server exited: {log}");
            try { return http.GetAsync($"http://127.0.0.1:{port}/api/status?token={token}").Result.StatusCode == HttpStatusCode.OK; }
            catch (AggregateException) { return false; }
        });
    }

    static void Until(TimeSpan timeout, string what, Func<bool> condition)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for {what}");
            Thread.Sleep(250);
        }
    }

    static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
