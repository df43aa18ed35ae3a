// Custom build of Apache ECharts 6.1.0 for the CRM's home pages (docs/decisions.md, "Charts"):
// bar, line and pie charts, grid, tooltip and legend, drawn on canvas. Rebuild with
//   npm install echarts@6.1.0 esbuild@0.25.12
//   npx esbuild build-entry.js --bundle --minify --format=iife --target=es2018 --legal-comments=eof \
//       --outfile=echarts.min.js
import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);
window.echarts = echarts;
